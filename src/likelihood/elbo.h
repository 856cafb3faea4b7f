#pragma once
// Continuous-time ELBO of Kingma et al. 2021 in the variance-exploding parameterization x = y + sigma n, per image
// in nats: -ELBO(y) = prior + diffusion + reconstruction (derivation, estimator and its standard error:
// docs/likelihood.md#elbo-derivation-and-estimator). Contract:
//   - prior ||y||^2 / (2 sigma_max^2); diffusion E_n int ||y - D(y + sigma n; sigma)||^2 / sigma^3 dsigma over
//     [sigma_min, sigma_max], estimated from M = ElboOptions::samples stratified log-sigma nodes per image (NFE = M)
//     with the noise the caller passes (uniform [B, M], normal [B, M, C, H, W]); reconstruction at sigma_min by VDM's
//     discrete decoder over the training grid k/127.5 - 1 (8-bit data) or a Gaussian decoder (continuous data).
//   - Results float64 [B] on the CPU; bpd() = total / (D ln 2) with no offset (8-bit data: a bound on -log2 P(k) / D).
//   - A merged denoiser is called at each node's own sigma, so the diffusion term is additive over its bands.
//     Math only: no MPI, no I/O; any rank may call it.
#include <ATen/core/Tensor.h>

#include <cstdint>

#include "experts/denoiser.h"
#include "likelihood/likelihood_options.h"

namespace switchdiff::likelihood {

struct DiffusionTerm {
  at::Tensor value;           // float64 [B], nats
  at::Tensor standard_error;  // float64 [B], nats
  at::Tensor nfe;             // int64 [B]
};

// The diffusion term over [sigma_lo, sigma_hi] (0 < sigma_lo <= sigma_hi).
//   y: floating [B, C, H, W] (data, no noise); uniform: [B, M] in [0, 1); normal: [B, M, C, H, W].
DiffusionTerm elbo_diffusion_term(const experts::Denoiser& denoiser, const at::Tensor& y, double sigma_lo,
                                  double sigma_hi, const at::Tensor& uniform, const at::Tensor& normal,
                                  const ElboOptions& options);

struct ElboTerms {
  at::Tensor prior;             // float64 [B], nats
  at::Tensor diffusion;         // float64 [B], nats
  at::Tensor diffusion_stderr;  // float64 [B], nats
  at::Tensor reconstruction;    // float64 [B], nats
  at::Tensor total;             // float64 [B], nats: -ELBO = prior + diffusion + reconstruction
  at::Tensor nfe;               // int64 [B]
  int64_t dims = 0;             // D = C*H*W
  // bits/dim of discrete data: total / (D ln 2); same for the standard error.
  at::Tensor bpd() const;
  at::Tensor bpd_stderr() const;
};

// 8-bit data: images uint8 [B, C, H, W], evaluated at the training grid k/127.5 - 1.
ElboTerms elbo_discrete(const experts::Denoiser& denoiser, const at::Tensor& images, const at::Tensor& uniform,
                        const at::Tensor& normal, double sigma_min, double sigma_max, const ElboOptions& options);
// Continuous data y floating [B, C, H, W] (tests on Gaussian mixtures), Gaussian decoder.
ElboTerms elbo_continuous(const experts::Denoiser& denoiser, const at::Tensor& y, const at::Tensor& uniform,
                          const at::Tensor& normal, double sigma_min, double sigma_max, const ElboOptions& options);

// -E[log p(k | x_0)] for x_0 = g_k + sigma n, per pixel value k = 0..255: float64 [256], nats.
at::Tensor discrete_reconstruction_nats(double sigma);

}  // namespace switchdiff::likelihood
