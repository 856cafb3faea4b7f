#include "experts/denoiser.h"

#include <fmt/format.h>

#include "core/error.h"

namespace switchdiff::experts {

std::string ImageShape::str() const { return fmt::format("{}x{}x{}", channels, height, width); }

bool SigmaRange::covers(double lo, double hi) const {
  constexpr double kRelativeSlack = 1e-9;
  return lo >= min * (1 - kRelativeSlack) && hi <= max * (1 + kRelativeSlack);
}

void Denoiser::check_trained_range(double sigma_lo, double sigma_hi, const std::string& fix) const {
  const SigmaRange trained = trained_range();
  if (!trained.covers(sigma_lo, sigma_hi)) {
    throw make_error<ConfigError>("{} would serve sigma in [{:.6g}, {:.6g}] but was trained for [{:.6g}, {:.6g}]; {}",
                                  name(), sigma_lo, sigma_hi, trained.min, trained.max, fix);
  }
}

}  // namespace switchdiff::experts
