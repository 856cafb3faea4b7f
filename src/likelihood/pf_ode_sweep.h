#pragma once
// PF-ODE log-densities (pf_ode.h) of K merges of one expert pair at switch sigmas eta_1..eta_K, in one pass.
// Every merge with eta > sigma_min integrates the same likelihood band from sigma_min, so that band is integrated
// once, up to T = the largest eta (sigma_max if some eta >= sigma_max), watching the smaller etas: each row's solver
// state is forked where the run ending at eta_a would first step differently (dopri5_integrate_forking); each fork
// then finishes its band to eta_a as that run would (dopri5_resume), and the quality band above eta_a follows as in
// pf_ode_advance. Merges with eta <= sigma_min (quality alone) are one trajectory; duplicate etas are computed once.
// For experts whose rows are independent (a row's D does not depend on its batch-mates, e.g. GaussianMixtureExpert)
// points[k] equals pf_ode_log_density(*merged[k], x0, probes, options, image_ids) bitwise (without snapshots).
// Network calls go through the merges themselves (NaN/Inf checks, usage counters).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "likelihood/likelihood_options.h"
#include "likelihood/merge_sweep.h"
#include "likelihood/pf_ode.h"

namespace switchdiff::likelihood {

struct PfOdeSweepResult {
  std::vector<PfOdeResult> points;       // one per merge; duplicates share tensors
  int64_t performed_quality_nfe = 0;     // drift evaluations actually run by the quality expert, summed over images
  int64_t performed_likelihood_nfe = 0;  // and by the likelihood expert
};

// x0, probes, image_ids as pf_ode_log_density (options validated here).
PfOdeSweepResult pf_ode_log_density_sweep(const MergedModels& merged, const at::Tensor& x0, const at::Tensor& probes,
                                          const PfOdeOptions& options, const std::vector<int64_t>& image_ids = {});

}  // namespace switchdiff::likelihood
