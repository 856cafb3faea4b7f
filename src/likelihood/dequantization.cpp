#include "likelihood/dequantization.h"

#include <ATen/ATen.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "core/error.h"

namespace switchdiff::likelihood {

void check_images(const at::Tensor& images, const experts::Denoiser& denoiser, const std::string& what) {
  if (!images.defined()) throw make_error<InputError>("{}: no images", what);
  if (images.scalar_type() != at::kByte) {
    throw make_error<InputError>(
        "{}: images have dtype {}, but the likelihood of 8-bit data needs uint8 pixels "
        "0..255 (docs/formats.md); convert the dataset with `switchdiff prepare`",
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

std::string bpd_formula(Dequantization scheme) {
  const std::string bins =
      scheme == Dequantization::kGrid
          ? "bpd = -log p(y) / (D ln 2) + log2(127.5) (= 6.99435) with y = (k + u - 1/2)/127.5 - 1, k the uint8 "
            "pixel, u ~ U[0,1) per pixel (nll.dequantization = grid: uniform bins of width 2/255 centred on the "
            "experts' training grid k/127.5 - 1; for a VDM expert i-DODE's 2(k + u)/256 - 1 with +7)"
          : "bpd = -log p(y) / (D ln 2) + 7 with y = (k + u) * 2/256 - 1, k the uint8 pixel, u ~ U[0,1) per pixel "
            "(nll.dequantization = score_sde: uniform bins of width 2/256 as score_sde, centred on (k - 127.5)/128)";
  return bins +
         ", log p(y) in nats by the probability-flow ODE from sigma_min to sigma_max with prior N(0, sigma_max^2 I); "
         "elbo_bpd = -ELBO / (D ln 2) at the grid points k/127.5 - 1 with VDM's discrete decoder over them "
         "(spacing 2/255)";
}

at::Tensor dequantize(const at::Tensor& images, const at::Tensor& uniform, Dequantization scheme) {
  if (uniform.sizes() != images.sizes()) {
    throw std::invalid_argument("dequantize: uniform noise must have the images' shape");
  }
  const at::Tensor k_plus_u = images.to(at::kDouble) + uniform.to(at::kDouble);
  if (scheme == Dequantization::kGrid) return (k_plus_u - 0.5) / 127.5 - 1.0;
  return k_plus_u * (2.0 / 256.0) - 1.0;
}

double bin_width(Dequantization scheme) { return scheme == Dequantization::kGrid ? kPixelSpacing : 2.0 / 256.0; }

double bpd_offset(Dequantization scheme) { return -std::log2(bin_width(scheme)); }

at::Tensor pixel_bin_centres(const at::Tensor& images) { return images.to(at::kDouble) / 127.5 - 1.0; }

at::Tensor bits_per_dim(const at::Tensor& log_density, int64_t dims, Dequantization scheme) {
  return -log_density.to(at::kDouble) / (static_cast<double>(dims) * std::log(2.0)) + bpd_offset(scheme);
}

}  // namespace switchdiff::likelihood
