#pragma once
// estimate_likelihood (likelihood_estimate.h) for every point of a switch-sigma sweep at once: K merges of one
// expert pair on the same images with the same noise (LikelihoodNoise, repeats), sharing the PF-ODE's likelihood
// band (pf_ode_sweep.h) and the ELBO's network evaluations (elbo_sweep.h). For row-independent experts (e.g.
// GaussianMixtureExpert) points[k] equals estimate_likelihood(*merged[k], images, indices, options) bitwise.
// merged: 2-expert SwitchedDenoiser::merge(quality, likelihood, eta_k) of one pair, or 1-expert SwitchedDenoisers
// of one quality expert (then every point is the quality expert alone). Math only; any rank may call it.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "likelihood/likelihood_estimate.h"
#include "likelihood/merge_sweep.h"

namespace switchdiff::likelihood {

struct SharedLikelihoodResult {
  std::vector<LikelihoodEstimate> points;  // one per merge
  // PF-ODE drift evaluations actually run, summed over images and repeats ("performed"; the "attributable" count
  // is the sum over points of their nfe).
  int64_t performed_quality_nfe = 0, performed_likelihood_nfe = 0;
  // ELBO network evaluations actually run (attributable: the sum over points of their elbo_nfe).
  int64_t performed_quality_elbo = 0, performed_likelihood_elbo = 0;
};

// Checks every point as estimate_likelihood does (check_likelihood_inputs), then runs options.repeats repeats.
SharedLikelihoodResult estimate_likelihood_shared(const MergedModels& merged, const at::Tensor& images,
                                                  const std::vector<int64_t>& indices, const LikelihoodOptions& options,
                                                  const std::string& data_name = "images");

}  // namespace switchdiff::likelihood
