#include "likelihood/elbo_sweep.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/error.h"
#include "likelihood/dequantization.h"
#include "likelihood/elbo_estimator.h"

namespace switchdiff::likelihood {
namespace {

// D of the given rows of node (x, sigma) by `denoiser`, into g[row * nodes + m]; returns the number of rows.
int64_t evaluate_rows(const experts::SwitchedDenoiser& denoiser, const std::vector<int64_t>& rows, const at::Tensor& y,
                      const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& noise, int64_t m, int64_t nodes,
                      double sigma_data, std::vector<double>& g) {
  if (rows.empty()) return 0;
  const int64_t d = y.size(1);
  const at::Tensor index = at::tensor(rows, at::kLong);
  const experts::ImageShape shape = denoiser.image_shape();
  const auto count = static_cast<int64_t>(rows.size());
  const at::Tensor denoised =
      denoiser
          .denoise(x.index_select(0, index).reshape({count, shape.channels, shape.height, shape.width}),
                   sigma.index_select(0, index))
          .to(at::kCPU)
          .to(at::kDouble)
          .reshape({count, d})
          .contiguous();
  for (int64_t r = 0; r < count; ++r) {
    const int64_t i = rows[r];
    const double sigma_i = sigma.data_ptr<double>()[i];
    const double value = elbo_integrand(y.data_ptr<double>() + i * d, denoised.data_ptr<double>() + r * d,
                                        noise.data_ptr<double>() + i * d, d, sigma_i, sigma_data);
    if (!std::isfinite(value)) {
      throw make_error<InputError>(
          "image {} of the batch: non-finite ELBO integrand at sigma = {:.6g} from {}; check the expert near this "
          "noise level",
          i, sigma_i, denoiser.name());
    }
    g[i * nodes + m] = value;
  }
  return count;
}

}  // namespace

ElboSweepResult elbo_discrete_sweep(const MergedModels& merged, const at::Tensor& images, const at::Tensor& uniform,
                                    const at::Tensor& normal, double sigma_min, double sigma_max,
                                    const ElboOptions& options) {
  options.validate();
  const std::vector<double> etas = sweep_switch_sigmas(merged);
  check_images(images, *merged.front(), "ELBO");
  if (!(sigma_min > 0) || !(sigma_max >= sigma_min)) {
    throw make_error<ConfigError>("ELBO: the noise range [{}, {}] is not allowed: need 0 < sigma_lo <= sigma_hi",
                                  sigma_min, sigma_max);
  }
  const int64_t batch = images.size(0), d = images[0].numel(), nodes = uniform.size(1);
  if (uniform.dim() != 2 || uniform.size(0) != batch || nodes != options.samples || normal.dim() != 5 ||
      normal.size(0) != batch || normal.size(1) != nodes || normal[0][0].numel() != d) {
    throw std::invalid_argument("ELBO sweep: uniform must be [B, M] and normal [B, M, C, H, W], M = samples");
  }
  const at::Tensor y = pixel_bin_centres(images).reshape({batch, d}).contiguous();
  const at::Tensor u = uniform.to(at::kCPU).to(at::kDouble).contiguous();
  const bool two_experts = merged.front()->num_experts() == 2;
  // The merge with the smallest eta serves every sigma > its eta with the quality expert; the one with the largest
  // eta every sigma <= its eta with the likelihood expert.
  const auto [lowest, highest] = std::minmax_element(etas.begin(), etas.end());
  const experts::SwitchedDenoiser& quality = *merged[lowest - etas.begin()];
  const experts::SwitchedDenoiser& likelihood = *merged[highest - etas.begin()];

  ElboSweepResult out;
  const bool empty = std::log(sigma_max) - std::log(sigma_min) == 0 || batch == 0;
  std::vector<double> g_quality(static_cast<size_t>(batch * nodes)), g_likelihood(g_quality.size());
  std::vector<double> node_sigma(g_quality.size());
  at::NoGradGuard no_grad;
  at::Tensor sigma, x, noise;
  for (int64_t m = 0; m < nodes && !empty; ++m) {
    elbo_node(y, u, normal, m, sigma_min, sigma_max, sigma, x, noise);
    std::vector<int64_t> quality_rows, likelihood_rows;
    for (int64_t i = 0; i < batch; ++i) {
      const double s = sigma.data_ptr<double>()[i];
      node_sigma[i * nodes + m] = s;
      if (!two_experts || s > *lowest) quality_rows.push_back(i);
      if (two_experts && s <= *highest) likelihood_rows.push_back(i);
    }
    out.performed_quality +=
        evaluate_rows(quality, quality_rows, y, x, sigma, noise, m, nodes, options.sigma_data, g_quality);
    out.performed_likelihood +=
        evaluate_rows(likelihood, likelihood_rows, y, x, sigma, noise, m, nodes, options.sigma_data, g_likelihood);
  }
  for (size_t k = 0; k < merged.size(); ++k) {
    std::vector<double> g(g_quality.size());
    for (size_t j = 0; j < g.size(); ++j) {
      g[j] = two_experts && node_sigma[j] <= etas[k] ? g_likelihood[j] : g_quality[j];
    }
    DiffusionTerm diffusion =
        elbo_sum(empty ? std::vector<double>{} : g, batch, empty ? 0 : nodes, sigma_min, sigma_max);
    out.points.push_back(elbo_discrete_terms(images, std::move(diffusion), sigma_min, sigma_max));
  }
  return out;
}

}  // namespace switchdiff::likelihood
