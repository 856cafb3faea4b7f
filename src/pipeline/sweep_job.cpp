#include "pipeline/sweep_job.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>

#include "core/error.h"
#include "core/log.h"
#include "pipeline/compute_device.h"
#include "pipeline/root_check.h"
#include "pipeline/stop_request.h"
#include "pipeline/sweep_blocks.h"
#include "pipeline/sweep_records.h"

namespace switchdiff::pipeline {
namespace {

void validate(const SweepJob& job) {
  if (job.points.empty()) throw ConfigError("the sweep has no points; set sweep.sigmas or sweep.steps");
  if (job.task.count < 1 || job.task.index < 0 || job.task.index >= job.task.count) {
    throw make_error<ConfigError>("sweep.task = {}/{}: give i/n with 0 <= i < n (e.g. the SLURM array task's)",
                                  job.task.index, job.task.count);
  }
  if (job.sample_count < 0) throw make_error<ConfigError>("samples.count = {} must be >= 0", job.sample_count);
  if (job.sample_batch < 1) throw make_error<ConfigError>("samples.batch = {} must be >= 1", job.sample_batch);
  if (job.nll_batch < 1) throw make_error<ConfigError>("nll.batch = {} must be >= 1", job.nll_batch);
  if (job.fid_batch < 1) throw make_error<ConfigError>("fid.batch = {} must be >= 1", job.fid_batch);
  if (job.preview_images < 0) {
    throw make_error<ConfigError>("sweep.preview_images = {} must be >= 0", job.preview_images);
  }
  if (job.fid_jackknife_groups < 0 || job.fid_jackknife_groups == 1) {
    throw make_error<ConfigError>("sweep.fid_jackknife_groups = {}: use 0 (no FID standard error) or >= 2",
                                  job.fid_jackknife_groups);
  }
  if (job.reference_path && !job.extractor_path) {
    throw ConfigError("fid.reference is set but fid.extractor is not: FID needs the extractor that made the reference");
  }
  const bool samples = job.sample_count > 0, nll = job.nll_dataset && job.nll_count != 0;
  if (!samples && !nll) {
    throw ConfigError("the sweep measures nothing: set samples.count > 0 (samples, FID) and/or nll.dataset (bits/dim)");
  }
  if (job.extractor_path && samples && job.sample_count < 2) {
    throw make_error<ConfigError>("samples.count = {}: feature statistics need at least 2 samples", job.sample_count);
  }
  if (job.reference_path && job.fid_jackknife_groups >= 2 && job.sample_count < 2 * job.fid_jackknife_groups) {
    throw make_error<ConfigError>(
        "sweep.fid_jackknife_groups = {} needs samples.count >= {} (2 per group); lower it, "
        "or set it to 0 to skip the FID standard error",
        job.fid_jackknife_groups, 2 * job.fid_jackknife_groups);
  }
  // Every point's experts must cover the noise levels it uses, checked now rather than hours into the run.
  for (const SweepPoint& p : job.points) {
    if (samples) job.model->at_switch(p.switch_sigma, job.sampler.schedule.sigma_min, job.sampler.schedule.sigma_max);
    if (nll) job.model->at_switch(p.switch_sigma, job.nll_options.ode.sigma_min, job.nll_options.ode.sigma_max);
  }
}

// Rank 0's pass (points, block plans) on every rank.
SweepPass broadcast_pass(const dist::Communicator& comm, const SweepPass& root_pass) {
  std::vector<int64_t> header{static_cast<int64_t>(root_pass.rows.size()), root_pass.samples.num_items(),
                              root_pass.samples.block_size(), root_pass.images.num_items(),
                              root_pass.images.block_size()};
  at::Tensor h = at::tensor(header, at::kLong);
  comm.broadcast(h);
  const int64_t points = h[0].item<int64_t>();
  at::Tensor rows = at::zeros({points}, at::kLong), sigmas = at::zeros({points}, at::kDouble);
  if (comm.is_root()) {
    for (int64_t p = 0; p < points; ++p) {
      rows[p] = root_pass.rows[static_cast<size_t>(p)];
      sigmas[p] = root_pass.switch_sigmas[static_cast<size_t>(p)];
    }
  }
  comm.broadcast(rows);
  comm.broadcast(sigmas);
  SweepPass pass;
  for (int64_t p = 0; p < points; ++p) {
    pass.rows.push_back(rows[p].item<int64_t>());
    pass.switch_sigmas.push_back(sigmas[p].item<double>());
  }
  if (points > 0) {
    pass.samples = dist::ShardPlan(h[1].item<int64_t>(), h[2].item<int64_t>(), 1);
    pass.images = dist::ShardPlan(h[3].item<int64_t>(), h[4].item<int64_t>(), 1);
  }
  return pass;
}

std::vector<uint8_t> broadcast_flags(const dist::Communicator& comm, std::vector<uint8_t> flags, int64_t n) {
  at::Tensor t = at::zeros({n}, at::kByte);
  if (comm.is_root()) std::copy(flags.begin(), flags.end(), t.data_ptr<uint8_t>());
  comm.broadcast(t);
  return std::vector<uint8_t>(t.data_ptr<uint8_t>(), t.data_ptr<uint8_t>() + n);
}

std::vector<SweepRow> broadcast_rows(const dist::Communicator& comm, std::vector<SweepRow> rows) {
  at::Tensor n = at::tensor({static_cast<int64_t>(rows.size())}, at::kLong);
  comm.broadcast(n);
  at::Tensor status = at::zeros({n[0].item<int64_t>()}, at::kLong);
  if (comm.is_root()) {
    for (size_t k = 0; k < rows.size(); ++k) status[static_cast<int64_t>(k)] = rows[k].status;
  }
  comm.broadcast(status);
  if (!comm.is_root()) {
    rows.assign(static_cast<size_t>(status.size(0)), SweepRow{});
    for (size_t k = 0; k < rows.size(); ++k) rows[k].status = status[static_cast<int64_t>(k)].item<int64_t>();
  }
  return rows;
}

// The inputs every rank needs to compute blocks: the merges of the pass's points, the trunk, the extractor
// and the test images.
struct LoadedInputs {
  SweepBlockInputs blocks;
  std::unique_ptr<experts::FeatureExtractor> extractor;
  std::unique_ptr<io::DatasetReader> test_images;
};

LoadedInputs load_inputs(const dist::Communicator& comm, const SweepJob& job, const SweepPass& pass) {
  LoadedInputs in;
  in.blocks.job = &job;
  in.blocks.pass = &pass;
  const auto& s = job.sampler.schedule;
  const auto& ode = job.nll_options.ode;
  for (const double eta : pass.switch_sigmas) {
    if (pass.samples.num_items() > 0)
      in.blocks.sampling_merges.push_back(job.model->at_switch(eta, s.sigma_min, s.sigma_max));
    if (pass.images.num_items() > 0)
      in.blocks.likelihood_merges.push_back(job.model->at_switch(eta, ode.sigma_min, ode.sigma_max));
  }
  in.blocks.trunk = std::make_shared<experts::SwitchedDenoiser>(
      std::vector<std::shared_ptr<const experts::Denoiser>>{job.model->experts().front().denoiser},
      std::vector<double>{});
  if (job.extractor_path && pass.samples.num_items() > 0) {
    in.extractor = std::make_unique<experts::FeatureExtractor>(*job.extractor_path, compute_device(comm, job.device));
    in.blocks.extractor = in.extractor.get();
  }
  if (pass.images.num_items() > 0) {
    in.test_images = std::make_unique<io::DatasetReader>(*job.nll_dataset);
    in.blocks.test_images = in.test_images.get();
  }
  return in;
}

}  // namespace

SweepOutcome run_sweep_job(const dist::Communicator& comm, const SweepJob& job) {
  validate(job);
  SweepOutcome outcome;
  SweepPass root_pass;
  std::vector<SweepRow> rows;
  check_on_root(comm, [&] { root_pass = open_sweep(job, &rows); });
  const SweepPass pass = broadcast_pass(comm, root_pass);
  outcome.rows = broadcast_rows(comm, rows);
  const auto start = std::chrono::steady_clock::now();
  if (pass.rows.empty()) {
    core::info("{}: all {} points are done", job.output_path, outcome.rows.size());
    return outcome;
  }
  const int64_t total = pass.num_blocks();
  std::vector<uint8_t> done;
  check_on_root(comm, [&] { done = finished_records(job.output_path, pass); });
  done = broadcast_flags(comm, done, total);
  const int64_t first = job.task.index * total / job.task.count, last = (job.task.index + 1) * total / job.task.count;
  std::vector<int64_t> todo;
  for (int64_t b = first; b < last; ++b) {
    if (!done[static_cast<size_t>(b)]) todo.push_back(b);
  }
  const auto already = std::count(done.begin(), done.end(), uint8_t{1});
  core::info(
      "sweep pass: {} points (switch sigmas {}) x {} blocks ({} sample blocks of {}, {} test-image blocks of "
      "{}); {} blocks already done{}",
      pass.rows.size(), fmt::format("{:.4g}", fmt::join(pass.switch_sigmas, ", ")), total, pass.samples.num_blocks(),
      pass.samples.block_size(), pass.images.num_blocks(), pass.images.block_size(), already,
      job.task.count > 1
          ? fmt::format("; task {}/{} computes blocks {}..{}", job.task.index, job.task.count, first, last - 1)
          : "");
  const auto stop_now = [&](int64_t computed) {
    throw make_error<Interrupted>(
        "stopped by a signal after {}/{} blocks of this run; finished blocks are saved in {}; run the same "
        "command again to resume",
        computed, todo.size(), records_folder(job.output_path));
  };
  if (!todo.empty()) {
    const LoadedInputs inputs = load_inputs(comm, job, pass);
    if (comm.any(stop_requested())) stop_now(0);  // a signal during start-up
    const int64_t world = comm.size();
    const int64_t rounds = (static_cast<int64_t>(todo.size()) + world - 1) / world;
    core::Progress progress(fmt::format("sweep ({} points)", pass.rows.size()), static_cast<int64_t>(todo.size()),
                            "blocks");
    for (int64_t round = 0; round < rounds; ++round) {
      const int64_t mine = round * world + comm.rank();
      std::exception_ptr failure;
      if (mine < static_cast<int64_t>(todo.size())) {
        try {
          compute_sweep_block(inputs.blocks, todo[static_cast<size_t>(mine)]);
        } catch (const Error&) {
          failure = std::current_exception();
        }
      }
      // Every rank learns of a failure on any rank (the same exit on all of them, never a hang).
      if (comm.any(failure != nullptr)) {
        if (failure) std::rethrow_exception(failure);
        throw make_error<CommError>("another rank failed while computing sweep blocks (see its message)");
      }
      outcome.computed_blocks = std::min<int64_t>((round + 1) * world, static_cast<int64_t>(todo.size()));
      progress.update(outcome.computed_blocks);
      if (round + 1 < rounds && comm.any(stop_requested())) stop_now(outcome.computed_blocks);
    }
    progress.finish();
  }
  comm.barrier();
  // Whoever finds every record present reduces them (the last array task to finish, or the assembly job).
  check_on_root(comm, [&] {
    const std::vector<uint8_t> now = finished_records(job.output_path, pass);
    outcome.pending_blocks = std::count(now.begin(), now.end(), uint8_t{0});
    if (outcome.pending_blocks == 0) {
      rows = assemble_sweep(job, pass);
      outcome.assembled = true;
    } else {
      rows = read_sweep_rows(job.output_path);
    }
  });
  outcome.rows = broadcast_rows(comm, rows);
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return outcome;
}

}  // namespace switchdiff::pipeline
