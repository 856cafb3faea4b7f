#include "pipeline/nll_job.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/log.h"
#include "dist/shard_plan.h"
#include "io/dataset_file.h"
#include "likelihood/dequantization.h"
#include "likelihood/likelihood_estimate.h"
#include "pipeline/block_rounds.h"

namespace switchdiff::pipeline {
namespace {

const char* const kColumnPaths[kNumNllColumns] = {
    "/nll_bpd", "/nfe", "/accepted_steps", "/rejected_steps", "/elbo_bpd", "/elbo_bpd_stderr", "/elbo_nfe"};

std::string run_identity(const NllJob& job, int64_t count) {
  const auto& o = job.options;
  return fmt::format(
      "{}|eta={:.17g}|dataset={}|count={}|batch={}|rtol={:.17g}|atol={:.17g}|smin={:.17g}|"
      "smax={:.17g}|div={}|probe={}|K={}|dequantization={}|repeats={}|seed={}|elbo={}|elbo_samples={}",
      job.model->fingerprint(), job.switch_sigma, job.dataset_path, count, job.batch, o.ode.rtol, o.ode.atol,
      o.ode.sigma_min, o.ode.sigma_max, likelihood::to_string(o.ode.divergence), likelihood::to_string(o.ode.probe),
      o.ode.probes, likelihood::to_string(o.dequantization), o.repeats, o.seed, o.elbo, o.elbo_options.samples);
}

}  // namespace

std::pair<double, double> mean_and_stderr(const std::vector<double>& v) {
  const double n = static_cast<double>(v.size());
  double mean = 0;
  for (double x : v) mean += x / n;
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  const double stderr_ = v.size() > 1 ? std::sqrt(ss / (n - 1) / n) : std::numeric_limits<double>::quiet_NaN();
  return {mean, stderr_};
}

NllSummary run_nll_job(const dist::Communicator& comm, const NllJob& job) {
  if (job.batch < 1) throw make_error<ConfigError>("nll.batch = {} must be >= 1", job.batch);
  io::DatasetReader reader(job.dataset_path);
  const int64_t available = reader.size();
  const int64_t count = job.count < 0 ? available : job.count;
  if (count < 1 || count > available) {
    throw make_error<ConfigError>("nll.count = {}: {} holds {} images; choose 1..{} or leave nll.count unset", count,
                                  job.dataset_path, available, available);
  }
  const auto denoiser = job.model->at_switch(job.switch_sigma, job.options.ode.sigma_min, job.options.ode.sigma_max);
  // Shape, dtype and option checks before any work, with the dataset named (likelihood_estimate.h).
  likelihood::check_likelihood_inputs(*denoiser, reader.read_images_tensor(0, 1), job.options, job.dataset_path);

  const dist::ShardPlan plan(count, job.batch, comm.size());
  const std::string identity = identity_lines(run_identity(job, count));

  BlockRoundsJob rounds;
  rounds.label = "nll";
  rounds.unit = "images";
  rounds.item_length = kNumNllColumns;
  rounds.payload_dtype = at::kDouble;
  rounds.compute = [&](const dist::Block& block) {
    std::vector<int64_t> indices;
    for (int64_t i = block.begin; i < block.end; ++i) indices.push_back(i);
    const auto e = likelihood::estimate_likelihood(*denoiser, reader.read_images_tensor(block.begin, block.end),
                                                   indices, job.options, job.dataset_path);
    const auto nan_column = at::full({block.size()}, std::numeric_limits<double>::quiet_NaN(), at::kDouble);
    const bool elbo = job.options.elbo && e.elbo_bpd.defined();
    return at::stack({e.nll_bpd, e.nfe.to(at::kDouble).mean(1), e.accepted.to(at::kDouble).mean(1),
                      e.rejected.to(at::kDouble).mean(1), elbo ? e.elbo_bpd : nan_column,
                      elbo ? e.elbo_bpd_stderr : nan_column, elbo ? e.elbo_nfe.to(at::kDouble).mean(1) : nan_column},
                     1);  // [images, columns], row-major
  };
  rounds.store = [&](io::H5File& file, const dist::Block& block, const at::Tensor& payload) {
    const at::Tensor rows = payload.reshape({block.size(), kNumNllColumns});
    for (int64_t c = 0; c < kNumNllColumns; ++c) {
      const at::Tensor column = rows.select(1, c).contiguous();
      file.write_rows(kColumnPaths[c], block.begin, block.size(), column.data_ptr<double>());
    }
  };
  WorkState state = open_work(comm, job.output_path, identity, plan, rounds);
  NllSummary summary;
  if (!state.finished) run_block_rounds(comm, plan, state, job.output_path, rounds, &summary.seconds);

  const auto initialize = [&](io::H5File& file) {
    write_run_metadata(file, job.meta);
    job.model->write_expert_attributes(file);
    file.set_double_attribute("/", "switch_sigma", job.switch_sigma);
    file.set_int_attribute("/", "switch_step", job.switch_step);
    file.set_int_attribute("/", "nll_seed", job.options.seed);
    file.set_string_attribute("/", "bpd_formula", likelihood::bpd_formula(job.options.dequantization));
    file.set_double_attribute("/", "ode_sigma_min", job.options.ode.sigma_min);
    file.set_double_attribute("/", "ode_sigma_max", job.options.ode.sigma_max);
    file.set_string_attribute("/", "dataset", job.dataset_path);
    std::vector<int64_t> index(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) index[static_cast<size_t>(i)] = i;
    file.write("/index", index);
    const std::vector<double> nan(static_cast<size_t>(count), std::numeric_limits<double>::quiet_NaN());
    for (const char* path : kColumnPaths) file.write(path, nan);
  };
  const auto finalize = [&](io::H5File& file) {
    std::tie(summary.nll_bpd, summary.nll_bpd_stderr) = mean_and_stderr(file.read<double>("/nll_bpd"));
    summary.nfe_mean = mean_and_stderr(file.read<double>("/nfe")).first;
    if (job.options.elbo) {
      std::tie(summary.elbo_bpd, summary.elbo_bpd_stderr) = mean_and_stderr(file.read<double>("/elbo_bpd"));
      summary.elbo_nfe_mean = mean_and_stderr(file.read<double>("/elbo_nfe")).first;
    } else {
      summary.elbo_bpd = summary.elbo_bpd_stderr = std::numeric_limits<double>::quiet_NaN();
      for (const char* path : {"/elbo_bpd", "/elbo_bpd_stderr", "/elbo_nfe"}) file.remove(path);
    }
    file.set_double_attribute("/", "nll_bpd_mean", summary.nll_bpd);
    file.set_double_attribute("/", "nll_bpd_stderr", summary.nll_bpd_stderr);
    file.set_double_attribute("/", "nll_nfe_mean", summary.nfe_mean);
    file.set_double_attribute("/", "elbo_bpd_mean", summary.elbo_bpd);
    file.set_double_attribute("/", "elbo_bpd_stderr", summary.elbo_bpd_stderr);
    file.set_int_attribute("/", "n_test", count);
  };
  if (comm.is_root()) {
    if (state.finished) {
      // Finished by an earlier run: the summary is the file's (written by finalize above).
      const io::H5File file = io::H5File::open(job.output_path, false);
      summary.nll_bpd = file.double_attribute("/", "nll_bpd_mean");
      summary.nll_bpd_stderr = file.double_attribute("/", "nll_bpd_stderr");
      summary.nfe_mean = file.double_attribute("/", "nll_nfe_mean");
      summary.elbo_bpd = file.double_attribute("/", "elbo_bpd_mean");
      summary.elbo_bpd_stderr = file.double_attribute("/", "elbo_bpd_stderr");
      if (job.options.elbo) summary.elbo_nfe_mean = mean_and_stderr(file.read<double>("/elbo_nfe")).first;
    } else {
      write_final_file(job.output_path, identity, plan, rounds, initialize, finalize);
    }
  }
  state.lock.reset();
  // Every rank returns the same summary (rank 0's), so callers may print or compare on any rank.
  at::Tensor values = at::tensor({summary.nll_bpd, summary.nll_bpd_stderr, summary.nfe_mean, summary.elbo_bpd,
                                  summary.elbo_bpd_stderr, summary.elbo_nfe_mean},
                                 at::kDouble);
  comm.broadcast(values);
  summary.images = count;
  summary.nll_bpd = values[0].item<double>();
  summary.nll_bpd_stderr = values[1].item<double>();
  summary.nfe_mean = values[2].item<double>();
  summary.elbo_bpd = values[3].item<double>();
  summary.elbo_bpd_stderr = values[4].item<double>();
  summary.elbo_nfe_mean = values[5].item<double>();
  return summary;
}

}  // namespace switchdiff::pipeline
