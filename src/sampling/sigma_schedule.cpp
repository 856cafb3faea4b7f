#include "sampling/sigma_schedule.h"

#include <cmath>

#include "core/error.h"

namespace switchdiff::sampling {

std::vector<double> edm_sigma_grid(const ScheduleOptions& o) {
  if (o.num_steps < 1) throw make_error<ConfigError>("sampler.steps = {} must be >= 1", o.num_steps);
  if (!(o.rho > 0)) throw make_error<ConfigError>("sampler.rho = {} must be > 0", o.rho);
  if (!(o.sigma_min > 0) || !(o.sigma_max > o.sigma_min) || !std::isfinite(o.sigma_max)) {
    throw make_error<ConfigError>("sampler.sigma_min = {} and sampler.sigma_max = {}: need 0 < sigma_min < sigma_max",
                                  o.sigma_min, o.sigma_max);
  }
  std::vector<double> sigmas;
  sigmas.reserve(static_cast<size_t>(o.num_steps) + 1);
  const double hi = std::pow(o.sigma_max, 1.0 / o.rho);
  const double lo = std::pow(o.sigma_min, 1.0 / o.rho);
  for (int i = 0; i < o.num_steps; ++i) {
    // One step only: EDM's formula divides by N-1; use sigma_max alone.
    const double fraction = o.num_steps > 1 ? static_cast<double>(i) / (o.num_steps - 1) : 0.0;
    sigmas.push_back(std::pow(hi + fraction * (lo - hi), o.rho));
  }
  sigmas.push_back(0.0);
  return sigmas;
}

}  // namespace switchdiff::sampling
