#include "pipeline/sample_job.h"

#include <ATen/ATen.h>

#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "core/seeded_noise.h"
#include "dist/shard_plan.h"
#include "io/h5_file.h"
#include "io/png_grid.h"
#include "pipeline/output_path.h"
#include "pipeline/stop_request.h"
#include "sampling/sample_batch.h"

namespace switchdiff::pipeline {
namespace {

// Identity of a run for resume checks: everything that changes the samples (not the output path).
std::string run_identity(const SampleJob& job) {
  return fmt::format("{}|eta={:.17g}|steps={}|rho={:.17g}|smin={:.17g}|smax={:.17g}|solver={}|churn={:.17g},{:.17g},"
                     "{:.17g},{:.17g}|count={}|seed_base={}|batch={}",
                     job.model->fingerprint(), job.switch_sigma, job.sampler.schedule.num_steps,
                     job.sampler.schedule.rho, job.sampler.schedule.sigma_min, job.sampler.schedule.sigma_max,
                     job.sampler.solver == sampling::Solver::kHeun ? "heun" : "euler", job.sampler.churn,
                     job.sampler.s_min, job.sampler.s_max, job.sampler.s_noise, job.count, job.seed_base, job.batch);
}

// Rank 0: opens the work file, creating it or checking that it belongs to this run. Returns per-block
// done flags.
std::vector<uint8_t> open_work_file(const SampleJob& job, const std::string& work_path, int64_t num_blocks,
                                    const experts::ImageShape& shape) {
  ensure_writable_output(job.output_path);
  if (std::filesystem::exists(job.output_path)) {
    throw make_error<ConfigError>("{} already exists and is never overwritten; choose another --output.path or "
                                  "delete the file",
                                  job.output_path);
  }
  const std::string identity = run_identity(job);
  if (std::filesystem::exists(work_path)) {
    io::H5File file = io::H5File::open(work_path, true);
    const std::string stored =
        file.has_attribute("/", "run_identity") ? file.string_attribute("/", "run_identity") : "";
    if (stored != identity) {
      throw make_error<ConfigError>(
          "{} holds an interrupted run with another configuration or other experts; resume it with the same "
          "config, or delete it to start over\n  stored:  {}\n  current: {}",
          work_path, stored, identity);
    }
    const auto done = file.read<uint8_t>("/block_done");
    core::info("resuming {}: {}/{} blocks already done", work_path,
               std::count(done.begin(), done.end(), uint8_t{1}), num_blocks);
    return done;
  }
  io::H5File file = io::H5File::create(work_path);
  file.set_string_attribute("/", "run_identity", identity);
  write_run_metadata(file, job.meta);
  file.set_double_attribute("/", "switch_sigma", job.switch_sigma);
  file.set_int_attribute("/", "switch_step", job.switch_step);
  file.set_int_attribute("/", "seed_base", job.seed_base);
  job.model->write_expert_attributes(file);
  io::DatasetOptions chunked;
  chunked.chunk_rows = std::max<int64_t>(1, std::min<int64_t>(job.batch, job.count));
  const std::vector<uint8_t> zeros(static_cast<size_t>(job.count * shape.dims()), 0);
  file.write("/images", {job.count, shape.channels, shape.height, shape.width}, zeros.data(), chunked);
  std::vector<int64_t> seeds(static_cast<size_t>(job.count));
  for (int64_t i = 0; i < job.count; ++i) seeds[static_cast<size_t>(i)] = job.seed_base + i;
  file.write("/seeds", seeds);
  std::vector<uint8_t> done(static_cast<size_t>(num_blocks), 0);
  file.write("/block_done", done);
  file.flush();
  return done;
}

}  // namespace

SampleJobResult run_sample_job(const dist::Communicator& comm, const SampleJob& job) {
  if (job.count < 1) throw make_error<ConfigError>("samples.count = {} must be >= 1", job.count);
  if (job.batch < 1) throw make_error<ConfigError>("samples.batch = {} must be >= 1", job.batch);
  const auto denoiser =
      job.model->at_switch(job.switch_sigma, job.sampler.schedule.sigma_min, job.sampler.schedule.sigma_max);
  const experts::ImageShape shape = denoiser->image_shape();
  const dist::ShardPlan plan(job.count, job.batch, comm.size());
  const std::string work_path = job.output_path + ".partial";

  // Rank 0 owns the files; everyone learns which blocks remain.
  std::string failure;
  std::vector<uint8_t> done;
  if (comm.is_root()) {
    try {
      done = open_work_file(job, work_path, plan.num_blocks(), shape);
    } catch (const Error& e) {
      failure = e.what();
    }
  }
  comm.broadcast(failure);
  if (!failure.empty()) throw ConfigError(failure);
  at::Tensor done_flags = at::zeros({plan.num_blocks()}, at::kByte);
  if (comm.is_root()) std::copy(done.begin(), done.end(), done_flags.data_ptr<uint8_t>());
  comm.broadcast(done_flags);

  std::optional<io::H5File> file;
  if (comm.is_root()) file.emplace(io::H5File::open(work_path, true));
  const int64_t pixels = shape.dims();
  const int64_t world = comm.size();
  const int64_t rounds = (plan.num_blocks() + world - 1) / world;
  int64_t finished = 0;
  for (int64_t b = 0; b < plan.num_blocks(); ++b) finished += done_flags[b].item<uint8_t>() ? plan.block(b).size() : 0;
  core::Progress progress("sample", job.count, "samples");
  progress.update(finished);
  SampleJobResult result;
  result.nfe_per_sample = static_cast<double>(sampling::evaluations_per_sample(job.sampler));

  for (int64_t round = 0; round < rounds; ++round) {
    // Block round*W + r belongs to rank r (ShardPlan's round-robin); done blocks are skipped.
    const int64_t mine = round * world + comm.rank();
    at::Tensor payload = at::zeros({job.batch * pixels}, at::kByte);
    if (mine < plan.num_blocks() && !done_flags[mine].item<uint8_t>()) {
      const dist::Block block = plan.block(mine);
      const auto batch = sampling::sample_seeds(*denoiser, core::consecutive_seeds(job.seed_base + block.begin,
                                                                                   block.size()),
                                                job.sampler);
      payload.narrow(0, 0, block.size() * pixels).copy_(batch.images.reshape(-1));
    }
    const at::Tensor gathered = comm.all_gather(payload);
    if (comm.is_root()) {
      for (int64_t r = 0; r < world; ++r) {
        const int64_t b = round * world + r;
        if (b >= plan.num_blocks() || done_flags[b].item<uint8_t>()) continue;
        const dist::Block block = plan.block(b);
        const at::Tensor rows = gathered.narrow(0, r * job.batch * pixels, block.size() * pixels).contiguous();
        file->write_rows("/images", block.begin, block.size(), rows.data_ptr<uint8_t>());
        const uint8_t one = 1;
        file->write_rows("/block_done", b, 1, &one);
        finished += block.size();
      }
      file->flush();
    }
    for (int64_t r = 0; r < world; ++r) {
      if (round * world + r < plan.num_blocks()) done_flags[round * world + r] = 1;
    }
    progress.update(finished);
    if (comm.any(stop_requested()) && round + 1 < rounds) {
      throw make_error<Interrupted>("stopped by a signal after {}/{} samples; progress is saved in {}; run the same "
                                    "command again to resume",
                                    finished, job.count, work_path);
    }
  }
  progress.finish();
  result.samples = job.count;
  result.seconds = progress.elapsed_seconds();
  for (size_t band = 0; band < denoiser->num_experts(); ++band) result.usage.push_back(denoiser->usage(band));

  if (comm.is_root()) {
    file->remove("/block_done");
    file->set_string_attribute("/", "status", "done");
    file->close();
    file.reset();
    std::filesystem::rename(work_path, job.output_path);
    if (job.png_path) {
      io::H5File out = io::H5File::open(job.output_path, false);
      const int64_t shown = std::min<int64_t>(job.count, 64);
      std::vector<uint8_t> images(static_cast<size_t>(shown * pixels));
      out.read_rows("/images", 0, shown, images.data());
      io::write_png_grid(*job.png_path, images, shown, shape.channels, shape.height, shape.width);
    }
  }
  comm.barrier();
  return result;
}

}  // namespace switchdiff::pipeline
