#pragma once
// `switchdiff sweep`, the main job (docs/sweep.md): FID and bits/dim of the merged model at every switch point
// eta, computed in ONE pass over the budget. The budget is cut into fixed global blocks (samples.batch seeds;
// nll.batch test images); every block computes all pending points at once, sharing the quality expert's
// sampling trunk (sampling/sweep_sampler.h) and the likelihood expert's PF-ODE segment and ELBO evaluations
// (likelihood/shared_likelihood.h). A block's results go to its own record file (pipeline/sweep_records.h),
// written whole and renamed into place, so a killed run loses at most the blocks in flight. Once every block
// of the pass exists, rank 0 reduces the records in block order (pipeline/sweep_results.h): the numbers depend
// on the blocks only, never on the rank count, the array-task split or the order blocks finished in.
//
// Ranks take the pass's missing blocks round-robin; an array task (sweep.task = i/n) takes the i-th of n
// contiguous block ranges. Whoever finds every block present assembles the results file.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "likelihood/likelihood_options.h"
#include "pipeline/compute_device.h"
#include "pipeline/merged_model.h"
#include "pipeline/nll_job.h"
#include "pipeline/sample_job.h"
#include "pipeline/stats_job.h"
#include "pipeline/run_metadata.h"
#include "pipeline/sweep_results.h"
#include "sampling/edm_sampler.h"

namespace switchdiff::pipeline {

struct SweepPoint {
  double switch_sigma = 0.0;
  int64_t switch_step = -1;  // grid index k when given as sweep.steps, else -1
};

// One array task's share of the blocks: task `index` of `count` (0 <= index < count).
struct SweepTask {
  int64_t index = 0;
  int64_t count = 1;
};

struct SweepJob {
  const MergedModel* model = nullptr;
  std::vector<SweepPoint> points;
  SweepTask task;

  sampling::SamplerOptions sampler;
  int64_t sample_count = 0;  // 0: no sampling (and no FID)
  int64_t seed_base = 0;
  int64_t sample_batch = SampleJob{}.batch;

  std::optional<std::string> extractor_path;        // feature statistics of the samples (mu, sigma, IS)
  std::optional<std::string> reference_path;        // FID against these statistics (needs the extractor)
  int64_t fid_batch = FeatureStatsOptions{}.batch;  // images per extractor call inside a block
  std::string device = kAutoDevice;   // run.device for the extractor (the experts are loaded by the caller)
  int64_t fid_jackknife_groups = 10;  // FID standard error over this many seed groups (0: none)

  std::optional<std::string> nll_dataset;  // bits/dim on its first nll_count images (-1: all)
  int64_t nll_count = -1;
  int64_t nll_batch = NllJob{}.batch;
  likelihood::LikelihoodOptions nll_options;

  bool keep_samples = false;    // also write every point's samples (<output>.samples/point_<k>.h5)
  int64_t preview_images = 16;  // samples stored in /points/<k>/images
  std::string output_path;
  std::string identity;  // the settings that decide the numbers (set by the caller; expert hashes are added)
  RunMetadata meta;
};

struct SweepOutcome {
  std::vector<SweepRow> rows;   // every point of the results file, as it holds them now
  int64_t computed_blocks = 0;  // blocks this run computed
  int64_t pending_blocks = 0;   // blocks of the pass still missing (other array tasks', or after a stop)
  bool assembled = false;       // this run wrote the pass's points into the results file
  double seconds = 0;
};

// Collective over comm. Throws Interrupted (exit 3) after a stop request, once the finished blocks are saved.
SweepOutcome run_sweep_job(const dist::Communicator& comm, const SweepJob& job);

}  // namespace switchdiff::pipeline
