#include "likelihood/dequantization.h"

#include <ATen/ATen.h>

#include <cmath>
#include <string>

#include "core/error.h"

namespace switchdiff::likelihood {

void check_images(const at::Tensor& images, const experts::Denoiser& denoiser, const std::string& what) {
  if (!images.defined()) throw make_error<InputError>("{}: no images", what);
  if (images.scalar_type() != at::kByte) {
    throw make_error<InputError>(
        "{}: images have dtype {}, but the likelihood of 8-bit data needs uint8 pixels "
        "0..255 (SPEC §6); convert the dataset with `switchdiff prepare`",
        what, std::string(c10::toString(images.scalar_type())));
  }
  const experts::ImageShape shape = denoiser.image_shape();
  if (images.dim() != 4 || images.size(1) != shape.channels || images.size(2) != shape.height ||
      images.size(3) != shape.width) {
    throw make_error<InputError>(
        "{}: images of shape {} (N x C x H x W) do not match {}, which expects {}; use a "
        "dataset of the experts' shape or experts exported for this dataset",
        what, fmt::format("{}", fmt::join(images.sizes(), "x")), denoiser.name(), shape.str());
  }
}

at::Tensor dequantize(const at::Tensor& images, const at::Tensor& uniform) {
  if (uniform.sizes() != images.sizes()) {
    throw std::invalid_argument("dequantize: uniform noise must have the images' shape");
  }
  return (images.to(at::kDouble) + uniform.to(at::kDouble)) * (2.0 / 256.0) - 1.0;
}

at::Tensor pixel_bin_centres(const at::Tensor& images) { return (images.to(at::kDouble) - 127.5) / 128.0; }

at::Tensor bits_per_dim(const at::Tensor& log_density, int64_t dims) {
  return -log_density.to(at::kDouble) / (static_cast<double>(dims) * std::log(2.0)) + 7.0;
}

}  // namespace switchdiff::likelihood
