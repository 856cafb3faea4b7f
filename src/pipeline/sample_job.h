#pragma once
// `switchdiff sample` (docs/cli.md): the sample budget of a merged model, sharded over ranks in fixed
// global blocks of `batch` seeds (block b -> rank b % W), gathered to rank 0, written as HDF5
// /images uint8 [N,C,H,W] and /seeds int64 [N]. Progress lives in "<path>.partial" (per-block done
// flags); a stopped or killed run resumes there when the config and expert hashes match. The finished
// file is renamed into place and never overwritten.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "dist/communicator.h"
#include "experts/switched_denoiser.h"
#include "pipeline/merged_model.h"
#include "pipeline/run_metadata.h"
#include "sampling/edm_sampler.h"

namespace switchdiff::pipeline {

struct SampleJob {
  const MergedModel* model = nullptr;
  double switch_sigma = 0.0;
  int64_t switch_step = -1;
  sampling::SamplerOptions sampler;
  int64_t count = 64;
  int64_t seed_base = 0;
  int64_t batch = 64;
  std::string output_path;
  std::optional<std::string> png_path;  // grid of the first (up to 64) samples
  RunMetadata meta;
};

struct SampleJobResult {
  int64_t samples = 0;
  double nfe_per_sample = 0;
  double seconds = 0;
  std::vector<experts::ExpertUsage> usage;  // this rank's evaluations per expert (low-noise band first)
};

// Collective over comm. Throws Interrupted (exit 3) after saving progress when a stop was requested.
SampleJobResult run_sample_job(const dist::Communicator& comm, const SampleJob& job);

}  // namespace switchdiff::pipeline
