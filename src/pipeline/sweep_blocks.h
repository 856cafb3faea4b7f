#pragma once
// Computing one block of a sweep pass for every point at once, and writing its record (pipeline/sweep_records.h).
// A sample block runs the shared sampler (sampling/sweep_sampler.h) and puts each point's final images through
// the feature extractor; a test-image block runs the shared likelihood (likelihood/shared_likelihood.h).
#include <cstdint>
#include <memory>
#include <vector>

#include "experts/feature_extractor.h"
#include "experts/switched_denoiser.h"
#include "io/dataset_file.h"
#include "pipeline/sweep_job.h"
#include "pipeline/sweep_records.h"

namespace switchdiff::pipeline {

struct SweepBlockInputs {
  const SweepJob* job = nullptr;
  const SweepPass* pass = nullptr;
  std::vector<std::shared_ptr<const experts::SwitchedDenoiser>> sampling_merges;    // per pass point
  std::vector<std::shared_ptr<const experts::SwitchedDenoiser>> likelihood_merges;  // per pass point
  std::shared_ptr<const experts::Denoiser> trunk;  // the quality expert alone (the sampling trunk)
  const experts::FeatureExtractor* extractor = nullptr;
  const io::DatasetReader* test_images = nullptr;
};

// Computes global block `block` of the pass and commits its record.
void compute_sweep_block(const SweepBlockInputs& inputs, int64_t block);

}  // namespace switchdiff::pipeline
