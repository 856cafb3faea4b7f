#pragma once
// Sampling every switch point of a sweep from one shared trunk (docs/sweep.md#sharing).
//
// Point k is the merge at eta_k: a denoiser call at sigma > eta_k goes to the quality expert (the top band).
// Until its first call that the merge sends elsewhere (call b_k: the first call with sigma <= eta_k), point k's
// trajectory is the quality expert's own, bit for bit: same inputs, same expert. So the quality-only trunk is run
// once; each point forks it just before call b_k (state, Euler half and churn generators included) and
// continues with its own merged denoiser. Points whose merges send every call to the same expert (equal etas, or
// etas between the same two call sigmas) share one branch; a point whose merge never
// leaves the top band is the trunk itself. Branches run one after another, so memory holds one trunk and one
// branch at a time.
//
// Performed evaluations per image: the trunk's calls up to the last branch (all of them if some point is the
// trunk) plus, per distinct branch, its remaining calls. Each point is still attributed its full
// evaluations_per_sample() (what it would cost alone).
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>

#include "experts/switched_denoiser.h"
#include "sampling/edm_sampler.h"

namespace switchdiff::sampling {

struct SweepSamplingPlan {
  std::vector<int64_t> branch_call;  // per point: first call not served by the top band (num_calls: none)
  std::vector<int64_t> branch_of;    // per point: index of its distinct branch (-1: the trunk itself)
  std::vector<size_t> branch_point;  // per distinct branch: the point whose merge runs it
  int64_t trunk_calls = 0;           // calls the trunk performs
  int64_t num_calls = 0;             // calls of one whole trajectory
  // Per image: evaluations the sweep performs, in total and by the top band's (quality) expert.
  int64_t performed_calls() const;
  int64_t performed_top_band_calls = 0;
};

// merged: one denoiser per point, all merges of the same experts (the top band = the trunk's expert).
SweepSamplingPlan plan_sweep_sampling(const std::vector<std::shared_ptr<const experts::SwitchedDenoiser>>& merged,
                                      const SamplerOptions& options);

// Runs the trunk with `trunk` (the top band's expert, e.g. a one-expert SwitchedDenoiser of it) and every branch;
// calls on_point(k, final_state) for every point k (float64 [B,C,H,W]), branch by branch. nfe (per image), when
// given, is increased by the evaluations performed.
void sample_sweep(const std::vector<std::shared_ptr<const experts::SwitchedDenoiser>>& merged,
                  const experts::Denoiser& trunk, const at::Tensor& latents, const SamplerOptions& options,
                  core::SeededNoise& noise, const std::function<void(size_t, const at::Tensor&)>& on_point,
                  int64_t* nfe = nullptr);

}  // namespace switchdiff::sampling
