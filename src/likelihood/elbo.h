#pragma once
// Continuous-time ELBO (Kingma et al. 2021, "Variational Diffusion Models", eqs. (11)-(17)) in the
// variance-exploding parameterization x = y + sigma n, SNR = 1/sigma^2 (docs/likelihood.md). In nats per image,
//   -ELBO(y) = prior + diffusion + reconstruction, with
//   prior          KL(q(x_T | y) || N(0, sigma_max^2 I)) = ||y||^2 / (2 sigma_max^2)   (equal covariances)
//   diffusion      L_inf = -1/2 E_n int_0^1 SNR'(t) ||y - D(x_t)||^2 dt
//                        = E_n int_{sigma_min}^{sigma_max} ||y - D(y + sigma n; sigma)||^2 / sigma^3 dsigma
//                        = E_n int ||y - D||^2 / sigma^2 dlog(sigma)
//                  (dSNR = -2 sigma^-3 dsigma: the 1/2 of VDM's eq. (17) cancels the 2; no 1/2 remains)
//   reconstruction E_{x_0 ~ q(x_0 | y)}[-log p(y | x_0)] at sigma_min:
//                  discrete 8-bit data: VDM's factorized decoder p(k | x_0) = softmax_k(-(x_0 - g_k)^2 / (2 sigma^2))
//                  over the experts' training grid g_k = k/127.5 - 1 (spacing 2/255, dequantization.h), its
//                  expectation over x_0 per pixel value computed once by quadrature (no Monte Carlo noise). In VDM's
//                  coordinates (f = c y, c = 127.5/128, sigma_VDM = c sigma) it is VDM's decoder over (k - 127.5)/128:
//                  every term of this ELBO of a VDM expert equals VDM's own (docs/likelihood.md);
//                  continuous data: Gaussian decoder N(y; x_0, sigma_min^2 I): D/2 log(2 pi sigma_min^2) + D/2.
// Discrete data give an upper bound on -log2 P(k) directly: bpd = -ELBO / (D ln 2) (no +7 offset).
//
// Diffusion estimator: M stratified nodes in log sigma over [sigma_lo, sigma_hi] (length L): node m of image i at
// log sigma = log sigma_lo + (m + u_im)/M L with its own noise n_im; value L/M sum_m g_im with the control variate
//   g = (||y - D(y + sigma n; sigma)||^2 - beta(sigma) sigma^2 (||n||^2 - D)) / sigma^2,
//   beta = (s_d^2 / (s_d^2 + sigma^2))^2, s_d = ElboOptions::sigma_data,
// which has mean 0 (E||n||^2 = D) and removes the chi-square noise of ||n||^2 that dominates at small sigma
// (for Gaussian data N(m, s_d^2 I), y - D = a (y - m) - sqrt(beta) sigma n exactly). Standard error: collapsed strata,
// SE^2 = (L/M)^2 sum_pairs (g_2p - g_2p+1)^2 (conservative). One network evaluation per node (NFE = M).
// A merged denoiser is simply called at each node's sigma, so each band is served by its own expert; over the
// bands of a merge the diffusion term is additive (test: merged = sum of elbo_diffusion_term over bands).
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
