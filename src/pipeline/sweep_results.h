#pragma once
// The results file of a switch-point sweep (SPEC §8) and the per-point work files behind it.
//
// A sweep point k is computed as ordinary resumable job outputs in the work folder `<output>.work/`
// (point_<k>.samples.h5, .stats.h5, .fid.h5, .nll.h5: the files `sample`, `stats`, `fid` and `nll` write).
// The results file `<output>` holds one row per point in /sweep and the point's arrays in /points/<k>/;
// rank 0 copies a point in once all its work files are finished and never rewrites it afterwards.
//
// Several processes may assemble at once (a SLURM array: one task per point), so every open of the
// results file happens under an exclusive lock (flock on `<output>.work/lock`). A run's identity (the
// settings that decide the numbers, plus the experts' SHA-256) is stored in the results file and in the
// work folder; a run with another identity is refused before any work, naming the lines that differ.
// Rank 0 only; no collectives here.
#include <cstdint>
#include <string>
#include <vector>

namespace switchdiff::pipeline {

struct SweepJob;

// One /sweep row (SPEC §8 columns, plus fid_stderr and elbo_bpd_stderr). NaN where a metric is off.
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

// Work files of point k (paths; they may not exist yet).
struct PointFiles {
  std::string samples, stats, fid, jackknife, nll;
};
std::string work_folder(const std::string& output_path);
PointFiles point_files(const std::string& output_path, int64_t k);

// Which work files a point of this job needs before it is finished.
struct PointNeeds {
  bool samples = false, stats = false, fid = false, jackknife = false, nll = false;
};
PointNeeds point_needs(const SweepJob& job);

// Creates the results file and work folder, or checks that existing ones belong to this run (ConfigError
// naming the differing settings otherwise). Refuses a path that holds something other than a sweep.
void open_sweep_results(const SweepJob& job);

// Copies every finished point that is not yet in the results file, marks the others partial (some work
// file exists) or pending, and returns all rows. Once a point is copied, its samples file is deleted unless
// sweep.keep_samples is set or the samples are the point's only product (no extractor).
std::vector<SweepRow> assemble_sweep_results(const SweepJob& job);

}  // namespace switchdiff::pipeline
