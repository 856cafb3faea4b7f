#pragma once
// Per-image likelihood of 8-bit images under a (merged) denoiser (docs/likelihood.md): for each repeat r, dequantize
// with the image's own noise (likelihood_noise.h), solve the PF-ODE (pf_ode.h) and convert to bits/dim
// (dequantization.h); optionally the ELBO of the same images (elbo.h). Results are averaged over repeats.
// Everything here is per image: the pipeline shards images over ranks and reduces the per-image values.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "experts/denoiser.h"
#include "likelihood/likelihood_noise.h"
#include "likelihood/likelihood_options.h"

namespace switchdiff::likelihood {

// One repeat of one batch.
struct RepeatEstimate {
  at::Tensor nll_bpd;      // float64 [B]
  at::Tensor log_density;  // float64 [B], nats, log p(y) of the dequantized images
  at::Tensor nfe;          // int64 [B]: PF-ODE drift evaluations (forward + VJPs each)
  at::Tensor accepted;     // int64 [B]
  at::Tensor rejected;     // int64 [B]
  at::Tensor elbo_bpd;     // float64 [B] (undefined when the ELBO is off)
  at::Tensor elbo_bpd_stderr;
  at::Tensor elbo_nfe;  // int64 [B]: network forwards of the ELBO estimator
};

// All repeats of one batch.
struct LikelihoodEstimate {
  at::Tensor nll_bpd;          // float64 [B]: mean over repeats
  at::Tensor nll_bpd_repeats;  // float64 [B, R]
  at::Tensor nfe;              // int64 [B, R]
  at::Tensor accepted;         // int64 [B, R]
  at::Tensor rejected;         // int64 [B, R]
  at::Tensor elbo_bpd;         // float64 [B]: mean over repeats (undefined when the ELBO is off)
  at::Tensor elbo_bpd_stderr;  // float64 [B]: Monte Carlo standard error of elbo_bpd
  at::Tensor elbo_nfe;         // int64 [B, R]
};

// Checks everything that does not depend on the data values: options (ConfigError), the image tensor
// (uint8 [B, C, H, W] of the denoiser's shape, InputError naming `data_name`), and that every expert is used
// inside its trained sigma range over [sigma_min, sigma_max] (ConfigError).
void check_likelihood_inputs(const experts::Denoiser& denoiser, const at::Tensor& images,
                             const LikelihoodOptions& options, const std::string& data_name);

// One repeat with the given noise (LikelihoodNoise::next()). indices: the images' dataset indices (messages).
RepeatEstimate estimate_likelihood_repeat(const experts::Denoiser& denoiser, const at::Tensor& images,
                                          const std::vector<int64_t>& indices, const RepeatNoise& noise,
                                          const LikelihoodOptions& options);

// The per-image means over repeats (and the root-sum-square / R of the ELBO standard errors); elbo: whether the
// repeats carry ELBO fields.
LikelihoodEstimate combine_repeats(const std::vector<RepeatEstimate>& repeats, bool elbo);

// All options.repeats repeats (noise streams from options.seed + indices[i]); checks the inputs first.
LikelihoodEstimate estimate_likelihood(const experts::Denoiser& denoiser, const at::Tensor& images,
                                       const std::vector<int64_t>& indices, const LikelihoodOptions& options,
                                       const std::string& data_name = "images");

}  // namespace switchdiff::likelihood
