#include "pipeline/sample_job.h"

#include <ATen/ATen.h>

#include <unistd.h>

#include <filesystem>
#include <limits>

#include "core/error.h"
#include "core/log.h"
#include "core/seeded_noise.h"
#include "dist/shard_plan.h"
#include "io/h5_file.h"
#include "io/png_grid.h"
#include "pipeline/block_rounds.h"
#include "pipeline/durable_file.h"
#include "sampling/sample_batch.h"

namespace switchdiff::pipeline {
namespace {

// Identity of a run for resume checks: everything that changes the samples (not the output path).
std::string run_identity(const SampleJob& job) {
  return fmt::format(
      "{}|eta={:.17g}|steps={}|rho={:.17g}|smin={:.17g}|smax={:.17g}|solver={}|churn={:.17g},{:.17g},"
      "{:.17g},{:.17g}|count={}|seed_base={}|batch={}",
      job.model->fingerprint(), job.switch_sigma, job.sampler.schedule.num_steps, job.sampler.schedule.rho,
      job.sampler.schedule.sigma_min, job.sampler.schedule.sigma_max,
      job.sampler.solver == sampling::Solver::kHeun ? "heun" : "euler", job.sampler.churn, job.sampler.s_min,
      job.sampler.s_max, job.sampler.s_noise, job.count, job.seed_base, job.batch);
}

// Sample i uses seed seed_base + i (docs/sampling.md): the last seed must fit in int64, or seeds would wrap
// (signed overflow, undefined behaviour) and repeat.
void check_seed_range(const SampleJob& job) {
  int64_t last = 0;
  if (__builtin_add_overflow(job.seed_base, job.count - 1, &last)) {
    throw make_error<ConfigError>(
        "samples.seed_base = {} with samples.count = {}: the last seed seed_base + count - 1 exceeds the int64 "
        "maximum {}; choose seed_base <= {}",
        job.seed_base, job.count, std::numeric_limits<int64_t>::max(),
        std::numeric_limits<int64_t>::max() - (job.count - 1));
  }
}

std::string gib(double bytes) { return fmt::format("{:.3g} GiB", bytes / (1024.0 * 1024.0 * 1024.0)); }

// The output holds count x pixels image bytes plus 8 bytes of seed per sample, and rank 0 builds both in memory
// when it writes the final file: refuse a budget that cannot fit before any work, naming what it needs.
void check_budget(const SampleJob& job, int64_t pixels) {
  int64_t image_bytes = 0, total = 0;
  const bool overflow = job.count > std::numeric_limits<int64_t>::max() / 8 ||
                        __builtin_mul_overflow(job.count, pixels, &image_bytes) ||
                        __builtin_add_overflow(image_bytes, job.count * int64_t{8}, &total);
  const double need =
      overflow ? static_cast<double>(job.count) * static_cast<double>(pixels + 8) : static_cast<double>(total);
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  const double memory = pages > 0 && page_size > 0 ? static_cast<double>(pages) * static_cast<double>(page_size) : 0;
  std::filesystem::path folder = std::filesystem::path(job.output_path).parent_path();
  if (folder.empty()) folder = ".";
  std::error_code error;
  const auto space = std::filesystem::space(folder, error);
  const double disk = error ? 0 : static_cast<double>(space.available);
  const bool too_big_for_memory = memory > 0 && need > memory;
  const bool too_big_for_disk = !error && need > disk;
  if (overflow || too_big_for_memory || too_big_for_disk) {
    throw make_error<ConfigError>(
        "samples.count = {} samples of {} bytes (+ 8 bytes of seed) need {} of memory to assemble the output and as "
        "much free disk for {}; this machine has {} of memory and {} free in {}; lower samples.count (e.g. split "
        "the budget over several runs with different samples.seed_base)",
        job.count, pixels, gib(need), job.output_path, memory > 0 ? gib(memory) : "an unknown amount",
        error ? "an unknown amount" : gib(disk), folder.string());
  }
}

}  // namespace

SampleJobResult run_sample_job(const dist::Communicator& comm, const SampleJob& job) {
  if (job.count < 1) throw make_error<ConfigError>("samples.count = {} must be >= 1", job.count);
  if (job.batch < 1) throw make_error<ConfigError>("samples.batch = {} must be >= 1", job.batch);
  check_seed_range(job);
  const auto denoiser =
      job.model->at_switch(job.switch_sigma, job.sampler.schedule.sigma_min, job.sampler.schedule.sigma_max);
  const experts::ImageShape shape = denoiser->image_shape();
  const dist::ShardPlan plan(job.count, job.batch, comm.size());
  const int64_t pixels = shape.dims();
  check_budget(job, pixels);
  const std::string identity = identity_lines(run_identity(job));

  BlockRoundsJob rounds;
  rounds.label = "sample";
  rounds.unit = "samples";
  rounds.item_length = pixels;
  rounds.payload_dtype = at::kByte;
  rounds.compute = [&](const dist::Block& block) {
    return sampling::sample_seeds(*denoiser, core::consecutive_seeds(job.seed_base + block.begin, block.size()),
                                  job.sampler)
        .images;
  };
  rounds.store = [&](io::H5File& file, const dist::Block& block, const at::Tensor& payload) {
    file.write_rows("/images", block.begin, block.size(), payload.contiguous().data_ptr<uint8_t>());
  };
  WorkState state = open_work(comm, job.output_path, identity, plan, rounds);
  SampleJobResult result;
  if (!state.finished) run_block_rounds(comm, plan, state, job.output_path, rounds, &result.seconds);
  result.nfe_per_sample = static_cast<double>(sampling::evaluations_per_sample(job.sampler));
  result.samples = job.count;
  for (size_t band = 0; band < denoiser->num_experts(); ++band) result.usage.push_back(denoiser->usage(band));

  if (comm.is_root()) {
    if (!state.finished) {
      write_final_file(job.output_path, identity, plan, rounds, [&](io::H5File& file) {
        write_run_metadata(file, job.meta);
        file.set_double_attribute("/", "switch_sigma", job.switch_sigma);
        file.set_int_attribute("/", "switch_step", job.switch_step);
        file.set_int_attribute("/", "seed_base", job.seed_base);
        job.model->write_expert_attributes(file);
        io::DatasetOptions chunked;
        chunked.chunk_rows = std::max<int64_t>(1, std::min<int64_t>(job.batch, job.count));
        const std::vector<uint8_t> zeros(static_cast<size_t>(job.count * pixels), 0);
        file.write("/images", {job.count, shape.channels, shape.height, shape.width}, zeros.data(), chunked);
        std::vector<int64_t> seeds(static_cast<size_t>(job.count));
        for (int64_t i = 0; i < job.count; ++i) seeds[static_cast<size_t>(i)] = job.seed_base + i;
        file.write("/seeds", seeds);
      });
    }
    if (job.png_path && !(state.finished && std::filesystem::exists(*job.png_path))) {
      std::vector<uint8_t> images;
      const int64_t shown = std::min<int64_t>(job.count, 64);
      {
        const io::H5File out = io::H5File::open(job.output_path, false);
        images.resize(static_cast<size_t>(shown * pixels));
        out.read_rows("/images", 0, shown, images.data());
      }
      write_durably(*job.png_path, [&](const std::string& partial) {
        io::write_png_grid(partial, images, shown, shape.channels, shape.height, shape.width);
      });
    }
  }
  state.lock.reset();
  comm.barrier();
  return result;
}

}  // namespace switchdiff::pipeline
