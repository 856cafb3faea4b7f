#pragma once
// `switchdiff nll` (docs/likelihood.md, docs/cli.md): per-image PF-ODE bits/dim (and ELBO) of the first nll.count
// images of a dataset under the merged model, sharded over ranks in fixed blocks of nll.batch images, gathered to rank
// 0 and written as /index, /nll_bpd, /nfe, /accepted_steps, /rejected_steps (+ /elbo_bpd, /elbo_bpd_stderr, /elbo_nfe)
// with mean and standard error attributes. Resumable like sample.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dist/communicator.h"
#include "likelihood/likelihood_options.h"
#include "pipeline/merged_model.h"
#include "pipeline/run_metadata.h"

namespace switchdiff::pipeline {

struct NllJob {
  const MergedModel* model = nullptr;
  double switch_sigma = 0.0;
  int64_t switch_step = -1;
  likelihood::LikelihoodOptions options;
  std::string dataset_path;
  int64_t count = -1;  // -1: every image
  int64_t batch = 16;
  std::string output_path;
  RunMetadata meta;
};

struct NllSummary {
  int64_t images = 0;
  double nll_bpd = 0, nll_bpd_stderr = 0;
  double nfe_mean = 0;
  double elbo_bpd = 0, elbo_bpd_stderr = 0;  // NaN when off
  double elbo_nfe_mean = 0;
  double seconds = 0;
};

// Collective. Throws Interrupted after a stop request (progress saved).
NllSummary run_nll_job(const dist::Communicator& comm, const NllJob& job);

// Mean and standard error of the mean (sample sd / sqrt(n); NaN for n < 2) of per-image values.
std::pair<double, double> mean_and_stderr(const std::vector<double>& values);

// Per-image values of a block, one row per image (the payload the ranks exchange); the column order.
enum NllColumn : int64_t { kNllBpd, kNfe, kAccepted, kRejected, kElboBpd, kElboStderr, kElboNfe, kNumNllColumns };

}  // namespace switchdiff::pipeline
