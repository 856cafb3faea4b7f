#pragma once
// From 8-bit pixels to a continuous density and back to bits/dim (SPEC §4; score_sde's uniform dequantization).
//   y = (k + u) * 2/256 - 1,  u ~ U[0, 1) per pixel:  pixel k fills the bin [k/128 - 1, (k+1)/128 - 1) of width
//   2/256, centred on VDM's grid (k - 127.5)/128 = (127.5/128) * (k/127.5 - 1), i.e. EDM's pixel value
//   k/127.5 - 1 shrunk by 0.4% (at most 1/256 at k = 0 or 255). The probability of pixel values k is
//   P(k) = int_bin p(y) dy = (2/256)^D E_u[p(y)], so by Jensen -log2 P(k) <= E_u[-log2 p(y)] + 7 D, and per image
//   (one u per repeat)
//   bpd = -log p(y) / (D ln 2) + 7     (7 = -log2 of the bin width 2/256; score_sde's offset 7 for data in [-1, 1]).
// y is exact in float64 (k + u needs 32 bits, the scaling is by a power of two).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "experts/denoiser.h"

namespace switchdiff::likelihood {

// Stored with the results (SPEC §4 "the formula is written into the results"; SPEC §8 root attribute bpd_formula).
inline constexpr const char* kBpdFormula =
    "bpd = -log p(y) / (D ln 2) + 7 with y = (k + u) * 2/256 - 1, k the uint8 pixel, u ~ U[0,1) per pixel "
    "(uniform dequantization as score_sde; bins centred on (k - 127.5)/128), log p(y) in nats by the "
    "probability-flow ODE from sigma_min to sigma_max with prior N(0, sigma_max^2 I)";

// Throws InputError unless images is uint8 [B, C, H, W] with the denoiser's C, H, W. `what` names the data
// source in the message (e.g. the dataset path).
void check_images(const at::Tensor& images, const experts::Denoiser& denoiser, const std::string& what);

// y = (k + u) * 2/256 - 1 in float64 [B, C, H, W]; images uint8 [B, C, H, W], uniform in [0, 1) of the same shape.
at::Tensor dequantize(const at::Tensor& images, const at::Tensor& uniform);

// The bin centres (k - 127.5)/128 in float64: the data the discrete ELBO is evaluated on.
at::Tensor pixel_bin_centres(const at::Tensor& images);

// bits/dim from log p(y) in nats [B]: -log p / (dims ln 2) + 7.
at::Tensor bits_per_dim(const at::Tensor& log_density, int64_t dims);

}  // namespace switchdiff::likelihood
