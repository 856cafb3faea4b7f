#pragma once
// From 8-bit pixels to a continuous density and back to bits/dim
// (docs/likelihood.md#pf-ode-uniform-dequantization-two-conventions). Both expert kinds are trained on the grid x_k =
// k/127.5 - 1 in switchdiff's (EDM) coordinates, spacing 2/255: EDM directly, VDM on f_k = (k - 127.5)/128 = c x_k with
// c = 127.5/128 its data_scale (docs/experts.md). Uniform dequantization y = a + w (k + u), u ~ U[0, 1) per pixel,
// fills bin k of width w; the probability of the pixels is P(k) = int_bins p(y) dy = w^D E_u[p(y)], so by Jensen -log2
// P(k) <= E_u[-log2 p(y)] - D log2 w, and per image (one u per repeat)
//   bpd = -log p(y) / (D ln 2) + offset,  offset = -log2 w.
// Dequantization::kGrid      y = (k + u - 1/2)/127.5 - 1, w = 2/255, offset log2(127.5) = 6.99435: bins centred
//                            on x_k. For a VDM expert c y = 2 (k + u)/256 - 1, i-DODE's convention in VDM
//                            coordinates with offset 7 (the Jacobian log2 c reconciles the offsets).
// Dequantization::kScoreSde  y = (k + u) * 2/256 - 1, w = 2/256, offset 7 (score_sde): bins centred on
//                            (k - 127.5)/128, up to half a bin (1/256) off x_k at k = 0 and 255. y is exact in
//                            float64 (k + u needs 32 bits, the scaling is by a power of two).
// The ELBO (elbo.h) needs no dequantization: it is evaluated at the grid points x_k themselves.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "experts/denoiser.h"
#include "likelihood/likelihood_options.h"

namespace switchdiff::likelihood {

// Spacing of the training grid x_k = k/127.5 - 1: 2/255.
inline constexpr double kPixelSpacing = 2.0 / 255.0;

// Stored with the results as the root attribute bpd_formula (docs/likelihood.md#what-is-written-into-the-results,
// docs/formats.md): the PF-ODE bins and offset of `scheme`, and the ELBO's grid.
std::string bpd_formula(Dequantization scheme);

// Throws InputError unless images is uint8 [B, C, H, W] with the denoiser's C, H, W. `what` names the data
// source in the message (e.g. the dataset path).
void check_images(const at::Tensor& images, const experts::Denoiser& denoiser, const std::string& what);

// y in float64 [B, C, H, W] by `scheme` (above); images uint8 [B, C, H, W], uniform in [0, 1) of the same shape.
at::Tensor dequantize(const at::Tensor& images, const at::Tensor& uniform, Dequantization scheme);

// Width of one pixel's bin (2/255 for kGrid, 2/256 for kScoreSde) and the bits/dim offset -log2 of it.
double bin_width(Dequantization scheme);
double bpd_offset(Dequantization scheme);

// The experts' training grid x_k = k/127.5 - 1 in float64: the data the discrete ELBO is evaluated on.
at::Tensor pixel_bin_centres(const at::Tensor& images);

// bits/dim from log p(y) in nats [B]: -log p / (dims ln 2) + bpd_offset(scheme).
at::Tensor bits_per_dim(const at::Tensor& log_density, int64_t dims, Dequantization scheme);

}  // namespace switchdiff::likelihood
