#include "pipeline/sample_job.h"

#include <ATen/ATen.h>

#include <filesystem>

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
  return fmt::format("{}|eta={:.17g}|steps={}|rho={:.17g}|smin={:.17g}|smax={:.17g}|solver={}|churn={:.17g},{:.17g},"
                     "{:.17g},{:.17g}|count={}|seed_base={}|batch={}",
                     job.model->fingerprint(), job.switch_sigma, job.sampler.schedule.num_steps,
                     job.sampler.schedule.rho, job.sampler.schedule.sigma_min, job.sampler.schedule.sigma_max,
                     job.sampler.solver == sampling::Solver::kHeun ? "heun" : "euler", job.sampler.churn,
                     job.sampler.s_min, job.sampler.s_max, job.sampler.s_noise, job.count, job.seed_base, job.batch);
}

}  // namespace

SampleJobResult run_sample_job(const dist::Communicator& comm, const SampleJob& job) {
  if (job.count < 1) throw make_error<ConfigError>("samples.count = {} must be >= 1", job.count);
  if (job.batch < 1) throw make_error<ConfigError>("samples.batch = {} must be >= 1", job.batch);
  const auto denoiser =
      job.model->at_switch(job.switch_sigma, job.sampler.schedule.sigma_min, job.sampler.schedule.sigma_max);
  const experts::ImageShape shape = denoiser->image_shape();
  const dist::ShardPlan plan(job.count, job.batch, comm.size());
  const int64_t pixels = shape.dims();
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
