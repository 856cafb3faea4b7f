#include "sampling/edm_sampler.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

namespace switchdiff::sampling {

int64_t evaluations_per_sample(const SamplerOptions& o) {
  const int64_t n = o.schedule.num_steps;
  return o.solver == Solver::kHeun ? 2 * n - 1 : n;
}

at::Tensor sample_edm(const experts::Denoiser& denoiser, const at::Tensor& latents, const SamplerOptions& o,
                      core::SeededNoise& noise, int64_t* nfe) {
  const std::vector<double> sigmas = edm_sigma_grid(o.schedule);
  const int64_t batch = latents.size(0);
  const int64_t num_steps = o.schedule.num_steps;
  auto sigma_vector = [&](double s) { return at::full({batch}, s, at::kDouble); };

  at::Tensor x_next = latents.to(at::kDouble) * sigmas[0];
  for (int64_t i = 0; i < num_steps; ++i) {
    const double t_cur = sigmas[i];
    const double t_next = sigmas[i + 1];
    const at::Tensor x_cur = x_next;

    // Stochastic churn: raise the noise level to t_hat by adding fresh noise (Alg. 2 lines 4-6).
    const bool churn_here = o.churn > 0 && t_cur >= o.s_min && t_cur <= o.s_max;
    const double gamma = churn_here ? std::min(o.churn / static_cast<double>(num_steps), std::sqrt(2.0) - 1.0) : 0.0;
    const double t_hat = t_cur + gamma * t_cur;
    at::Tensor x_hat = x_cur;
    if (o.churn > 0) {
      // EDM draws this noise on every step once churn is on (also where gamma = 0), so its
      // per-seed streams stay aligned with NVlabs edm_sampler.
      const at::Tensor eps = noise.randn(x_cur.sizes().slice(1), at::kDouble);
      x_hat = x_cur + std::sqrt(t_hat * t_hat - t_cur * t_cur) * o.s_noise * eps;
    }

    // Euler step from t_hat to t_next (Alg. 2 lines 7-8): d = (x - D(x; t)) / t.
    const at::Tensor denoised = denoiser.denoise(x_hat, sigma_vector(t_hat)).to(at::kDouble);
    const at::Tensor d_cur = (x_hat - denoised) / t_hat;
    x_next = x_hat + (t_next - t_hat) * d_cur;
    if (nfe) ++*nfe;

    // Heun correction (Alg. 2 lines 9-11), skipped on the last step where t_next = 0.
    if (o.solver == Solver::kHeun && i < num_steps - 1) {
      const at::Tensor denoised_next = denoiser.denoise(x_next, sigma_vector(t_next)).to(at::kDouble);
      const at::Tensor d_prime = (x_next - denoised_next) / t_next;
      x_next = x_hat + (t_next - t_hat) * (0.5 * d_cur + 0.5 * d_prime);
      if (nfe) ++*nfe;
    }
  }
  return x_next;
}

}  // namespace switchdiff::sampling
