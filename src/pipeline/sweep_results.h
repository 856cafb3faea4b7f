#pragma once
// The results file of a switch-point sweep (docs/formats.md#sweep-results) and the pass that fills it.
//
// `<output>` holds one /sweep row per point and the point's arrays in /points/<k>/. It is never modified in
// place: every change is a complete new file committed by pipeline/durable_file.h, so a kill leaves either the
// old file or the new one. A point is done once its row says so in a committed file; it is never rewritten.
//
// The work folder `<output>.work/` holds identity.txt (the run identity: the settings that decide the numbers,
// plus the experts' SHA-256), pass.txt (the points and blocks of the pass in progress) and blocks/ (the records,
// pipeline/sweep_records.h). Every step that reads or writes these happens under an exclusive lock
// (flock on `<output>.work/lock`), so SLURM array tasks can share them. Rank 0 only; no collectives here.
#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/sweep_records.h"
#include "pipeline/work_folder.h"

namespace switchdiff::pipeline {

struct SweepJob;

// One /sweep row (NaN where a metric is off).
struct SweepRow {
  double switch_sigma = 0;
  int64_t switch_step = -1;
  double fid = 0, fid_stderr = 0, inception_score = 0;
  int64_t n_samples = 0;
  double nll_bpd = 0, nll_bpd_stderr = 0;
  int64_t n_test = 0;
  double nll_nfe_mean = 0, elbo_bpd = 0, elbo_bpd_stderr = 0, sample_nfe_mean = 0;
  int64_t status = 0;  // 0 pending, 1 partial, 2 done
};
enum SweepStatus : int64_t { kPending = 0, kPartial = 1, kDone = 2 };

// Evaluations a pass performed, summed over images (and repeats), per expert; and the sum over its points of
// what each would cost alone (its attributable evaluations).
struct PerformedEvaluations {
  int64_t sample_quality = 0, sample_likelihood = 0, sample_attributable = 0;
  int64_t nll_quality = 0, nll_likelihood = 0, nll_attributable = 0;
  int64_t elbo_quality = 0, elbo_likelihood = 0, elbo_attributable = 0;
};

// Creates the results file (every point pending), or checks that an existing one belongs to this run
// (ConfigError naming the differing settings otherwise) and adds rows for points it lacks. Then opens the
// pass over every point not done: creates pass.txt, or checks that the pass in progress is this one. Returns
// the pass (rows empty when every point is done) and all rows.
SweepPass open_sweep(const SweepJob& job, std::vector<SweepRow>* rows);

// Reduces the pass's records (all present) in block order into its points, commits the new results file with
// them marked done, and removes the records and pass.txt. Returns all rows. When another process assembled
// the pass first, only reads the rows.
std::vector<SweepRow> assemble_sweep(const SweepJob& job, const SweepPass& pass);

// Rows of a results file (rank 0).
std::vector<SweepRow> read_sweep_rows(const std::string& output_path);

}  // namespace switchdiff::pipeline
