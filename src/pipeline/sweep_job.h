#pragma once
// `switchdiff sweep` (SPEC §7-§9): for every switch point eta of a sweep, the merged model's samples, their
// feature statistics and FID, and the PF-ODE bits/dim (+ ELBO) of a test set, collected in one results
// file (pipeline/sweep_results.h). Glue only: each stage is the job the single-purpose command runs
// (sample_job, stats_job, fid_job, nll_job), so a point's numbers equal what those commands give, and
// each stage resumes where a stopped run left it.
//
// `only` restricts a run to some points (a SLURM array task per point); every run then assembles all
// finished points into the results file, so the last task to finish leaves it complete.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "likelihood/likelihood_options.h"
#include "pipeline/merged_model.h"
#include "pipeline/run_metadata.h"
#include "pipeline/sweep_results.h"
#include "sampling/edm_sampler.h"

namespace switchdiff::pipeline {

struct SweepPoint {
  double switch_sigma = 0.0;
  int64_t switch_step = -1;  // grid index k when given as sweep.steps, else -1
};

struct SweepJob {
  const MergedModel* model = nullptr;
  std::vector<SweepPoint> points;
  std::vector<int64_t> only;  // indices into points computed by this run; empty: all

  sampling::SamplerOptions sampler;
  int64_t sample_count = 0;  // 0: no sampling (and no FID)
  int64_t seed_base = 0;
  int64_t sample_batch = 64;

  std::optional<std::string> extractor_path;  // feature statistics of the samples (mu, sigma, IS)
  std::optional<std::string> reference_path;  // FID against these statistics (needs the extractor)
  int64_t fid_batch = 64;
  std::string device = "auto";        // run.device for the extractor (the experts are loaded by the caller)
  int64_t fid_jackknife_groups = 10;  // FID standard error over this many seed groups (0: none)

  std::optional<std::string> nll_dataset;  // bits/dim on its first nll_count images (-1: all)
  int64_t nll_count = -1;
  int64_t nll_batch = 16;
  likelihood::LikelihoodOptions nll_options;

  bool keep_samples = false;    // keep each point's samples file after its statistics are taken
  int64_t preview_images = 16;  // samples stored in /points/<k>/images
  std::string output_path;
  std::string identity;  // the settings that decide the numbers (set by the caller; expert hashes are added)
  RunMetadata meta;
};

struct SweepOutcome {
  std::vector<SweepRow> rows;  // every point of the sweep, as the results file holds them now
  int64_t computed = 0;        // points this run worked on
  double seconds = 0;
};

// Collective over comm. Throws Interrupted (exit 3) after a stop request, once finished points are saved.
SweepOutcome run_sweep_job(const dist::Communicator& comm, const SweepJob& job);

}  // namespace switchdiff::pipeline
