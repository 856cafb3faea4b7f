#include "likelihood/likelihood_estimate.h"

#include <ATen/ATen.h>

#include <cmath>
#include <stdexcept>

#include "core/error.h"
#include "experts/switched_denoiser.h"
#include "likelihood/dequantization.h"
#include "likelihood/elbo.h"
#include "likelihood/pf_ode.h"

namespace switchdiff::likelihood {
namespace {
// Mean over the columns of [B, R] (and the root-sum-square / R for standard errors), row by row so that a row's
// value never depends on the other rows.
at::Tensor row_mean(const at::Tensor& values, bool root_sum_square) {
  const at::Tensor v = values.to(at::kDouble).contiguous();
  const int64_t rows = v.size(0), cols = v.size(1);
  at::Tensor out = at::empty({rows}, at::kDouble);
  for (int64_t i = 0; i < rows; ++i) {
    double sum = 0;
    for (int64_t r = 0; r < cols; ++r) {
      const double x = v.data_ptr<double>()[i * cols + r];
      sum += root_sum_square ? x * x : x;
    }
    out.data_ptr<double>()[i] = (root_sum_square ? std::sqrt(sum) : sum) / static_cast<double>(cols);
  }
  return out;
}
}  // namespace

void check_likelihood_inputs(const experts::Denoiser& denoiser, const at::Tensor& images,
                             const LikelihoodOptions& options, const std::string& data_name) {
  options.validate();
  check_images(images, denoiser, data_name);
  denoiser.check_trained_range(options.ode.sigma_min, options.ode.sigma_max,
                               "set the likelihood's sigma_min/sigma_max inside the expert's range");
}

RepeatEstimate estimate_likelihood_repeat(const experts::Denoiser& denoiser, const at::Tensor& images,
                                          const std::vector<int64_t>& indices, const RepeatNoise& noise,
                                          const LikelihoodOptions& options) {
  if (static_cast<int64_t>(indices.size()) != images.size(0)) {
    throw std::invalid_argument("estimate_likelihood_repeat: one index per image is needed");
  }
  const int64_t dims = images[0].numel();
  const at::Tensor y = dequantize(images, noise.dequantization, options.dequantization);
  const PfOdeResult ode = pf_ode_log_density(denoiser, y, noise.probes, options.ode, indices);
  RepeatEstimate out;
  out.log_density = ode.log_density;
  out.nll_bpd = bits_per_dim(ode.log_density, dims, options.dequantization);
  out.nfe = ode.final_state.nfe;
  out.accepted = ode.final_state.accepted;
  out.rejected = ode.final_state.rejected;
  if (options.elbo) {
    const ElboTerms elbo = elbo_discrete(denoiser, images, noise.elbo_uniform, noise.elbo_normal, options.ode.sigma_min,
                                         options.ode.sigma_max, options.elbo_options);
    out.elbo_bpd = elbo.bpd();
    out.elbo_bpd_stderr = elbo.bpd_stderr();
    out.elbo_nfe = elbo.nfe;
  }
  return out;
}

LikelihoodEstimate estimate_likelihood(const experts::Denoiser& denoiser, const at::Tensor& images,
                                       const std::vector<int64_t>& indices, const LikelihoodOptions& options,
                                       const std::string& data_name) {
  check_likelihood_inputs(denoiser, images, options, data_name);
  LikelihoodNoise noise(indices, denoiser.image_shape(), options);
  std::vector<RepeatEstimate> repeats;
  for (int64_t r = 0; r < options.repeats; ++r) {
    repeats.push_back(estimate_likelihood_repeat(denoiser, images, indices, noise.next(), options));
  }
  return combine_repeats(repeats, options.elbo);
}

LikelihoodEstimate combine_repeats(const std::vector<RepeatEstimate>& repeats, bool elbo) {
  const auto stack = [&](at::Tensor RepeatEstimate::*field) {
    std::vector<at::Tensor> columns;
    for (const auto& r : repeats) columns.push_back(r.*field);
    return at::stack(columns, 1);
  };
  LikelihoodEstimate out;
  out.nll_bpd_repeats = stack(&RepeatEstimate::nll_bpd);
  out.nll_bpd = row_mean(out.nll_bpd_repeats, false);
  out.nfe = stack(&RepeatEstimate::nfe);
  out.accepted = stack(&RepeatEstimate::accepted);
  out.rejected = stack(&RepeatEstimate::rejected);
  if (elbo) {
    out.elbo_bpd = row_mean(stack(&RepeatEstimate::elbo_bpd), false);
    // The repeats are independent: SE of their mean = sqrt(sum SE_r^2) / R.
    out.elbo_bpd_stderr = row_mean(stack(&RepeatEstimate::elbo_bpd_stderr), true);
    out.elbo_nfe = stack(&RepeatEstimate::elbo_nfe);
  }
  return out;
}

}  // namespace switchdiff::likelihood
