#include "experts/denoiser.h"

#include <fmt/format.h>

namespace switchdiff::experts {

std::string ImageShape::str() const { return fmt::format("{}x{}x{}", channels, height, width); }

}  // namespace switchdiff::experts
