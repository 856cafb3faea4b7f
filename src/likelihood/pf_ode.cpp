#include "likelihood/pf_ode.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/error.h"
#include "experts/switched_denoiser.h"
#include "likelihood/dopri5.h"
#include "likelihood/pf_ode_band.h"

namespace switchdiff::likelihood {
namespace {
constexpr double kLogTwoPi = 1.8378770664093453;  // ln(2 pi)
}  // namespace

PfOdeState pf_ode_initial_state(const at::Tensor& x0, double sigma_start) {
  if (!x0.defined() || x0.dim() != 4 || !at::isFloatingType(x0.scalar_type())) {
    throw std::invalid_argument("pf_ode_initial_state: x0 must be a floating tensor [B, C, H, W]");
  }
  PfOdeState s;
  s.sigma = sigma_start;
  s.x = x0.to(at::kCPU).to(at::kDouble).contiguous().clone();
  s.delta_logp = at::zeros({x0.size(0)}, at::kDouble);
  s.nfe = at::zeros({x0.size(0)}, at::kLong);
  s.accepted = at::zeros({x0.size(0)}, at::kLong);
  s.rejected = at::zeros({x0.size(0)}, at::kLong);
  return s;
}

std::vector<double> pf_ode_split_points(const experts::Denoiser& denoiser, double sigma_from, double sigma_to,
                                        const std::vector<double>& snapshot_sigmas) {
  std::vector<double> points;
  for (const double s : denoiser.switch_sigmas()) {
    if (s > sigma_from && s < sigma_to) points.push_back(s);
  }
  for (const double s : snapshot_sigmas) {
    if (s > sigma_from && s < sigma_to) points.push_back(s);
  }
  points.push_back(sigma_to);
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
  return points;
}

PfOdeState pf_ode_advance(const experts::Denoiser& denoiser, const PfOdeState& state, double sigma_to,
                          const at::Tensor& probes, const PfOdeOptions& options, const std::vector<int64_t>& image_ids,
                          const std::vector<double>& snapshot_sigmas, std::vector<PfOdeState>* snapshots) {
  if (!(sigma_to >= state.sigma) || !(state.sigma > 0)) {
    throw make_error<ConfigError>("PF-ODE: cannot integrate from sigma = {} to {}: need 0 < from <= to", state.sigma,
                                  sigma_to);
  }
  const int64_t batch = state.x.size(0);
  const at::Tensor probes64 = pf_ode_probes(probes, state.x, options);
  if (!image_ids.empty() && static_cast<int64_t>(image_ids.size()) != batch) {
    throw std::invalid_argument("pf_ode_advance: image_ids must be empty or have one entry per image");
  }
  const ImageName image_name = pf_ode_image_name(image_ids);
  at::Tensor y = pf_ode_augmented_rows(state);
  std::vector<StepCounts> counts = pf_ode_counts(state);
  const Dopri5Settings settings = pf_ode_solver_settings(options, image_name);

  const at::IntArrayRef shape = state.x.sizes();
  double lo = state.sigma;
  for (const double hi : pf_ode_split_points(denoiser, state.sigma, sigma_to, snapshot_sigmas)) {
    const BatchRhs rhs = pf_ode_band_rhs(denoiser, lo, hi, shape.vec(), probes64, options.divergence, image_name);
    dopri5_integrate(rhs, y, lo, hi, settings, counts);
    lo = hi;
    if (snapshots && std::find(snapshot_sigmas.begin(), snapshot_sigmas.end(), hi) != snapshot_sigmas.end()) {
      snapshots->push_back(pf_ode_state_from(hi, y, shape, counts));
    }
  }
  return pf_ode_state_from(sigma_to, y, shape, counts);
}

at::Tensor gaussian_prior_log_density(const at::Tensor& x, double sigma) {
  const int64_t batch = x.size(0);
  const at::Tensor flat = x.to(at::kCPU).to(at::kDouble).reshape({batch, -1}).contiguous();
  const int64_t d = flat.size(1);
  at::Tensor out = at::empty({batch}, at::kDouble);
  const double* xs = flat.data_ptr<double>();
  const double log_norm = -0.5 * static_cast<double>(d) * (kLogTwoPi + 2 * std::log(sigma));
  for (int64_t i = 0; i < batch; ++i) {
    double sq = 0;
    for (int64_t j = 0; j < d; ++j) sq += xs[i * d + j] * xs[i * d + j];
    out.data_ptr<double>()[i] = log_norm - sq / (2 * sigma * sigma);
  }
  return out;
}

PfOdeResult pf_ode_log_density(const experts::Denoiser& denoiser, const at::Tensor& x0, const at::Tensor& probes,
                               const PfOdeOptions& options, const std::vector<int64_t>& image_ids,
                               const std::vector<double>& snapshot_sigmas) {
  options.validate();
  const experts::ImageShape shape = denoiser.image_shape();
  if (x0.dim() != 4 || x0.size(1) != shape.channels || x0.size(2) != shape.height || x0.size(3) != shape.width) {
    throw make_error<InputError>(
        "PF-ODE: images of shape {} do not match {}, which expects {}; use data of the "
        "expert's shape",
        fmt::format("{}", fmt::join(x0.sizes(), "x")), denoiser.name(), shape.str());
  }
  if (!at::isFloatingType(x0.scalar_type())) {
    throw make_error<InputError>("PF-ODE: x0 must be floating point, got {}",
                                 std::string(c10::toString(x0.scalar_type())));
  }
  for (const double s : snapshot_sigmas) {
    if (!(s > options.sigma_min && s <= options.sigma_max)) {
      throw make_error<ConfigError>("PF-ODE: snapshot sigma {} is outside (sigma_min, sigma_max] = ({}, {}]", s,
                                    options.sigma_min, options.sigma_max);
    }
  }
  PfOdeResult result;
  result.final_state = pf_ode_advance(denoiser, pf_ode_initial_state(x0, options.sigma_min), options.sigma_max, probes,
                                      options, image_ids, snapshot_sigmas, &result.snapshots);
  result.log_density =
      gaussian_prior_log_density(result.final_state.x, options.sigma_max) + result.final_state.delta_logp;
  return result;
}

}  // namespace switchdiff::likelihood
