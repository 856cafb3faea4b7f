#include "pipeline/sweep_job.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "core/log.h"
#include "pipeline/fid_jackknife_job.h"
#include "pipeline/fid_job.h"
#include "pipeline/nll_job.h"
#include "pipeline/root_check.h"
#include "pipeline/sample_job.h"
#include "pipeline/stats_job.h"
#include "pipeline/stop_request.h"

namespace switchdiff::pipeline {
namespace {

// Which of a point's work files exist, as rank 0 sees them (one broadcast): every rank must take the same
// branches into the collective jobs. Each stage writes only its own file, so the answers stay valid while
// the later stages run.
struct FinishedStages {
  bool samples = false, stats = false, fid = false, jackknife = false, nll = false;
};
FinishedStages finished_stages(const dist::Communicator& comm, const PointFiles& files) {
  at::Tensor flags = at::zeros({5}, at::kLong);
  if (comm.is_root()) {
    int i = 0;
    for (const std::string* path : {&files.samples, &files.stats, &files.fid, &files.jackknife, &files.nll}) {
      flags[i++] = std::filesystem::exists(*path) ? 1 : 0;
    }
  }
  comm.broadcast(flags);
  const auto flag = [&](int i) { return flags[i].item<int64_t>() != 0; };
  return {flag(0), flag(1), flag(2), flag(3), flag(4)};
}

void stop_if_requested(const dist::Communicator& comm, const SweepJob& job, int64_t k) {
  if (comm.any(stop_requested())) {
    throw make_error<Interrupted>(
        "stopped by a signal during sweep point {}; finished stages are saved in {}; run "
        "the same command again to resume",
        k, work_folder(job.output_path));
  }
}

void validate(const SweepJob& job) {
  if (job.points.empty()) throw ConfigError("the sweep has no points; set sweep.sigmas or sweep.steps");
  for (int64_t k : job.only) {
    if (k < 0 || k >= static_cast<int64_t>(job.points.size())) {
      throw make_error<ConfigError>("sweep.points contains {}: this sweep has points 0..{}", k, job.points.size() - 1);
    }
  }
  if (job.sample_count < 0) throw make_error<ConfigError>("samples.count = {} must be >= 0", job.sample_count);
  if (point_needs(job).jackknife && job.sample_count < 2 * job.fid_jackknife_groups) {
    throw make_error<ConfigError>(
        "sweep.fid_jackknife_groups = {} needs samples.count >= {} (2 per group); lower it, "
        "or set it to 0 to skip the FID standard error",
        job.fid_jackknife_groups, 2 * job.fid_jackknife_groups);
  }
  if (job.reference_path && !job.extractor_path) {
    throw ConfigError("fid.reference is set but fid.extractor is not: FID needs the extractor that made the reference");
  }
  const PointNeeds needs = point_needs(job);
  if (!needs.samples && !needs.nll) {
    throw ConfigError("the sweep measures nothing: set samples.count > 0 (samples, FID) and/or nll.dataset (bits/dim)");
  }
  // Every point's experts must cover the noise levels it uses, checked now rather than hours into the run.
  for (const SweepPoint& p : job.points) {
    if (needs.samples) {
      job.model->at_switch(p.switch_sigma, job.sampler.schedule.sigma_min, job.sampler.schedule.sigma_max);
    }
    if (needs.nll) job.model->at_switch(p.switch_sigma, job.nll_options.ode.sigma_min, job.nll_options.ode.sigma_max);
  }
}

// One sweep point: each stage is skipped when its output exists (finished earlier), and resumes from its
// own .partial file when a stopped run left one.
void compute_point(const dist::Communicator& comm, const SweepJob& job, int64_t k) {
  const SweepPoint& point = job.points[static_cast<size_t>(k)];
  const PointNeeds needs = point_needs(job);
  const PointFiles files = point_files(job.output_path, k);
  core::info("\n== sweep point {} of {}: switch sigma {:.6g}{}", k, job.points.size(), point.switch_sigma,
             point.switch_step >= 0 ? fmt::format(" (grid step {})", point.switch_step) : "");
  const FinishedStages finished = finished_stages(comm, files);
  // Stages finished by an earlier (stopped) run are kept; say so, so a resumed log reads as one.
  std::vector<std::string> done;
  for (const auto& [needed, exists, stage] :
       {std::tuple{needs.samples, finished.samples, "samples"}, std::tuple{needs.stats, finished.stats, "statistics"},
        std::tuple{needs.fid, finished.fid, "FID"}, std::tuple{needs.jackknife, finished.jackknife, "FID jackknife"},
        std::tuple{needs.nll, finished.nll, "bits/dim"}}) {
    if (needed && exists) done.push_back(stage);
  }
  if (!done.empty()) core::info("resuming point {}: {} already done", k, fmt::format("{}", fmt::join(done, ", ")));
  // The samples are needed while a stage that reads them is unfinished.
  const bool samples_used =
      needs.samples && !(needs.stats && finished.stats && (!needs.jackknife || finished.jackknife));
  if (samples_used && !finished.samples) {
    SampleJob s;
    s.model = job.model;
    s.switch_sigma = point.switch_sigma;
    s.switch_step = point.switch_step;
    s.sampler = job.sampler;
    s.count = job.sample_count;
    s.seed_base = job.seed_base;
    s.batch = job.sample_batch;
    s.output_path = files.samples;
    s.meta = job.meta;
    run_sample_job(comm, s);
    stop_if_requested(comm, job, k);
  }
  if (needs.stats && !finished.stats) {
    StatsJob s;
    s.dataset_path = files.samples;
    s.extractor_path = *job.extractor_path;
    s.options.batch = job.fid_batch;
    s.device = job.device;
    s.options.progress_label = "stats";
    s.output_path = files.stats;
    s.meta = job.meta;
    run_stats_job(comm, s);
    stop_if_requested(comm, job, k);
  }
  if (needs.fid && !finished.fid) {
    FidJob f;
    f.samples_path = files.stats;
    f.reference_path = *job.reference_path;
    f.extractor_path = job.extractor_path;
    f.batch = job.fid_batch;
    f.device = job.device;
    f.output_path = files.fid;
    f.meta = job.meta;
    const FidJobResult result = run_fid_job(comm, f);
    core::info("{}: {:.6g}", result.metric, result.fid);
    stop_if_requested(comm, job, k);
  }
  if (needs.jackknife && !finished.jackknife) {
    FidJackknifeJob j;
    j.samples_path = files.samples;
    j.reference_path = *job.reference_path;
    j.extractor_path = *job.extractor_path;
    j.groups = job.fid_jackknife_groups;
    j.batch = job.fid_batch;
    j.device = job.device;
    j.output_path = files.jackknife;
    j.meta = job.meta;
    const auto jackknife = run_fid_jackknife_job(comm, j);
    core::info("FID standard error (jackknife, {} seed groups): {:.4g}", j.groups, jackknife.standard_error);
    stop_if_requested(comm, job, k);
  }
  if (needs.nll && !finished.nll) {
    NllJob n;
    n.model = job.model;
    n.switch_sigma = point.switch_sigma;
    n.switch_step = point.switch_step;
    n.options = job.nll_options;
    n.dataset_path = *job.nll_dataset;
    n.count = job.nll_count;
    n.batch = job.nll_batch;
    n.output_path = files.nll;
    n.meta = job.meta;
    const NllSummary s = run_nll_job(comm, n);
    core::info("NLL: {:.5f} ± {:.5f} bits/dim, {:.1f} NFE per image", s.nll_bpd, s.nll_bpd_stderr, s.nfe_mean);
  }
}

std::vector<SweepRow> assemble(const dist::Communicator& comm, const SweepJob& job) {
  std::vector<SweepRow> rows;
  check_on_root(comm, [&] { rows = assemble_sweep_results(job); });
  // Every rank needs the statuses to skip the same points.
  at::Tensor status = at::zeros({static_cast<int64_t>(job.points.size())}, at::kLong);
  for (size_t k = 0; k < rows.size(); ++k) status[static_cast<int64_t>(k)] = rows[k].status;
  comm.broadcast(status);
  if (!comm.is_root()) {
    rows.assign(job.points.size(), SweepRow{});
    for (size_t k = 0; k < rows.size(); ++k) rows[k].status = status[static_cast<int64_t>(k)].item<int64_t>();
  }
  return rows;
}

}  // namespace

SweepOutcome run_sweep_job(const dist::Communicator& comm, const SweepJob& job) {
  validate(job);
  check_on_root(comm, [&] { open_sweep_results(job); });
  SweepOutcome outcome;
  outcome.rows = assemble(comm, job);  // points finished by an earlier run or another array task
  const auto already =
      std::count_if(outcome.rows.begin(), outcome.rows.end(), [](const SweepRow& r) { return r.status == kDone; });
  if (already > 0) {
    core::info("resuming {}: {}/{} points already done", job.output_path, already, outcome.rows.size());
  }
  std::vector<int64_t> selected = job.only;
  if (selected.empty()) {
    for (size_t k = 0; k < job.points.size(); ++k) selected.push_back(static_cast<int64_t>(k));
  }
  const auto start = std::chrono::steady_clock::now();
  int64_t finished = 0;
  for (int64_t k : selected) {
    if (outcome.rows[static_cast<size_t>(k)].status == kDone) {
      ++finished;
      continue;
    }
    try {
      compute_point(comm, job, k);
    } catch (const Interrupted&) {
      assemble(comm, job);  // keep every finished point before exiting
      throw;
    }
    outcome.rows = assemble(comm, job);
    ++outcome.computed;
    ++finished;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double per_point = elapsed / static_cast<double>(outcome.computed);
    core::info("== sweep: {}/{} points of this run done, {} per point, ETA {}", finished, selected.size(),
               core::format_duration(per_point),
               core::format_duration(per_point * static_cast<double>(selected.size() - finished)));
    if (finished < static_cast<int64_t>(selected.size())) stop_if_requested(comm, job, k);
  }
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return outcome;
}

}  // namespace switchdiff::pipeline
