#include "sampling/edm_sampler.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace switchdiff::sampling {
namespace {

// t_hat_i of Alg. 2 line 5: sigma_i raised by gamma_i inside [S_min, S_max].
double churned_sigma(const SamplerOptions& o, double t_cur) {
  const bool churn_here = o.churn > 0 && t_cur >= o.s_min && t_cur <= o.s_max;
  const double gamma =
      churn_here ? std::min(o.churn / static_cast<double>(o.schedule.num_steps), std::sqrt(2.0) - 1.0) : 0.0;
  return t_cur + gamma * t_cur;
}

}  // namespace

int64_t evaluations_per_sample(const SamplerOptions& o) {
  const int64_t n = o.schedule.num_steps;
  return o.solver == Solver::kHeun ? 2 * n - 1 : n;
}

std::vector<double> edm_call_sigmas(const SamplerOptions& o) {
  const std::vector<double> sigmas = edm_sigma_grid(o.schedule);
  std::vector<double> calls;
  const int64_t n = o.schedule.num_steps;
  for (int64_t i = 0; i < n; ++i) {
    calls.push_back(churned_sigma(o, sigmas[i]));
    if (o.solver == Solver::kHeun && i < n - 1) calls.push_back(sigmas[i + 1]);
  }
  return calls;
}

EdmTrajectory::EdmTrajectory(const at::Tensor& latents, const SamplerOptions& options, core::SeededNoise noise)
    : options_(options),
      sigmas_(edm_sigma_grid(options.schedule)),
      noise_(std::move(noise)),
      num_calls_(evaluations_per_sample(options)) {
  x_ = latents.to(at::kDouble) * sigmas_[0];
  begin_step();
}

EdmTrajectory EdmTrajectory::fork() const {
  EdmTrajectory copy = *this;  // tensors are never modified in place, so sharing them is safe
  copy.noise_ = noise_.clone();
  return copy;
}

void EdmTrajectory::begin_step() {
  const double t_cur = sigmas_[step_];
  t_hat_ = churned_sigma(options_, t_cur);
  x_hat_ = x_;
  if (options_.churn > 0) {
    // EDM draws this noise on every step once churn is on (also where gamma = 0), so its
    // per-seed streams stay aligned with NVlabs edm_sampler.
    const at::Tensor eps = noise_.randn(x_.sizes().slice(1), at::kDouble);
    x_hat_ = x_ + std::sqrt(t_hat_ * t_hat_ - t_cur * t_cur) * options_.s_noise * eps;
  }
}

void EdmTrajectory::advance(const experts::Denoiser& denoiser, int64_t until_call, int64_t* nfe) {
  if (until_call < next_call_ || until_call > num_calls_) {
    throw std::invalid_argument("EdmTrajectory::advance: until_call must lie in [next_call, num_calls]");
  }
  const int64_t batch = x_.size(0);
  const int64_t num_steps = options_.schedule.num_steps;
  auto sigma_vector = [&](double s) { return at::full({batch}, s, at::kDouble); };
  while (next_call_ < until_call) {
    const double t_next = sigmas_[step_ + 1];
    if (!correction_next_) {
      // Euler step from t_hat to t_next (Alg. 2 lines 7-8): d = (x - D(x; t)) / t.
      const at::Tensor denoised = denoiser.denoise(x_hat_, sigma_vector(t_hat_)).to(at::kDouble);
      d_cur_ = (x_hat_ - denoised) / t_hat_;
      x_euler_ = x_hat_ + (t_next - t_hat_) * d_cur_;
      correction_next_ = options_.solver == Solver::kHeun && step_ < num_steps - 1;
      if (!correction_next_) x_ = x_euler_;
    } else {
      // Heun correction (Alg. 2 lines 9-11), skipped on the last step where t_next = 0.
      const at::Tensor denoised_next = denoiser.denoise(x_euler_, sigma_vector(t_next)).to(at::kDouble);
      const at::Tensor d_prime = (x_euler_ - denoised_next) / t_next;
      x_ = x_hat_ + (t_next - t_hat_) * (0.5 * d_cur_ + 0.5 * d_prime);
      correction_next_ = false;
    }
    ++next_call_;
    if (nfe) ++*nfe;
    if (!correction_next_) {
      ++step_;
      if (step_ < num_steps) begin_step();
    }
  }
}

const at::Tensor& EdmTrajectory::final_state() const {
  if (!done()) throw std::logic_error("EdmTrajectory::final_state: the trajectory has calls left");
  return x_;
}

at::Tensor sample_edm(const experts::Denoiser& denoiser, const at::Tensor& latents, const SamplerOptions& o,
                      core::SeededNoise& noise, int64_t* nfe) {
  EdmTrajectory trajectory(latents, o, noise);
  trajectory.advance(denoiser, trajectory.num_calls(), nfe);
  return trajectory.final_state();
}

}  // namespace switchdiff::sampling
