#pragma once
// The pieces of the stratified diffusion-term estimator (elbo.h) shared by elbo_diffusion_term and the
// switch-sigma sweep (elbo_sweep.h), so that both compute every number with the same expressions, in the same order.
// Internal to the likelihood module. All tensors float64 CPU contiguous.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "likelihood/elbo.h"

namespace switchdiff::likelihood {

// Node m of every image: log sigma = log sigma_lo + (m + u_im)/M L (clamped to [sigma_lo, sigma_hi]), noise n_im,
// x = y + sigma n. y: [B, D]; uniform: [B, M]. Fills sigma [B], x [B, D] and noise [B, D].
void elbo_node(const at::Tensor& y, const at::Tensor& uniform, const at::Tensor& normal, int64_t m, double sigma_lo,
               double sigma_hi, at::Tensor& sigma, at::Tensor& x, at::Tensor& noise);

// g = (||y - D||^2 - beta sigma^2 (||n||^2 - D)) / sigma^2 for one row of D values (elbo.h).
double elbo_integrand(const double* y, const double* denoised, const double* noise, int64_t d, double sigma,
                      double sigma_data);

// value = L/M sum_m g_im and the collapsed-strata standard error, from g [B * M] (row-major [B, M]).
DiffusionTerm elbo_sum(const std::vector<double>& g, int64_t batch, int64_t nodes, double sigma_lo, double sigma_hi);

// The discrete ELBO of uint8 images from their diffusion term: prior, reconstruction at sigma_min, total.
ElboTerms elbo_discrete_terms(const at::Tensor& images, DiffusionTerm diffusion, double sigma_min, double sigma_max);

}  // namespace switchdiff::likelihood
