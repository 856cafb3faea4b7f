#pragma once
// The discrete ELBO (elbo.h) of K merges of one expert pair at switch sigmas eta_1..eta_K, sharing the network
// evaluations: node m of image i sits at the same sigma_im with the same noise for every merge, and merge k serves
// it with its likelihood expert iff sigma_im <= eta_k (SwitchedDenoiser::band_of). So each node is evaluated at most
// once per expert, only where some merge needs that expert, and every merge sums its own choice of the integrands
// with elbo_diffusion_term's expressions and order. For row-independent experts points[k] equals
// elbo_discrete(*merged[k], images, uniform, normal, sigma_min, sigma_max, options) bitwise.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "likelihood/elbo.h"
#include "likelihood/merge_sweep.h"

namespace switchdiff::likelihood {

struct ElboSweepResult {
  std::vector<ElboTerms> points;     // one per merge
  int64_t performed_quality = 0;     // network evaluations (images) actually run by the quality expert
  int64_t performed_likelihood = 0;  // and by the likelihood expert
};

ElboSweepResult elbo_discrete_sweep(const MergedModels& merged, const at::Tensor& images, const at::Tensor& uniform,
                                    const at::Tensor& normal, double sigma_min, double sigma_max,
                                    const ElboOptions& options);

}  // namespace switchdiff::likelihood
