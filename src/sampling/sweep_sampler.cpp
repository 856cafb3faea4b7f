#include "sampling/sweep_sampler.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <map>
#include <stdexcept>

namespace switchdiff::sampling {

int64_t SweepSamplingPlan::performed_calls() const {
  int64_t calls = trunk_calls;
  for (const size_t k : branch_point) calls += num_calls - branch_call[k];
  return calls;
}

SweepSamplingPlan plan_sweep_sampling(const std::vector<std::shared_ptr<const experts::SwitchedDenoiser>>& merged,
                                      const SamplerOptions& options) {
  const std::vector<double> call_sigmas = edm_call_sigmas(options);
  SweepSamplingPlan plan;
  plan.num_calls = static_cast<int64_t>(call_sigmas.size());
  // Two points whose merges send every call to the same expert follow the same trajectory (e.g. two etas
  // between the same grid sigmas): one branch serves both.
  std::map<std::vector<size_t>, int64_t> branches;
  for (size_t k = 0; k < merged.size(); ++k) {
    const experts::SwitchedDenoiser& d = *merged[k];
    std::vector<size_t> bands;
    for (const double sigma : call_sigmas) bands.push_back(d.band_of(sigma));
    const size_t top = d.num_experts() - 1;
    const auto b = static_cast<int64_t>(
        std::find_if(bands.begin(), bands.end(), [&](size_t band) { return band != top; }) - bands.begin());
    plan.branch_call.push_back(b);
    if (b == plan.num_calls) {
      plan.branch_of.push_back(-1);
      plan.trunk_calls = plan.num_calls;
      continue;
    }
    plan.trunk_calls = std::max(plan.trunk_calls, b);
    const auto [it, added] = branches.emplace(bands, static_cast<int64_t>(plan.branch_point.size()));
    if (added) plan.branch_point.push_back(k);
    plan.branch_of.push_back(it->second);
  }
  // Calls of the top band's expert: the trunk's, plus those a branch sends back up (churn makes sigma rise).
  plan.performed_top_band_calls = plan.trunk_calls;
  for (const size_t k : plan.branch_point) {
    const experts::SwitchedDenoiser& d = *merged[k];
    for (int64_t c = plan.branch_call[k]; c < plan.num_calls; ++c) {
      plan.performed_top_band_calls += d.band_of(call_sigmas[static_cast<size_t>(c)]) == d.num_experts() - 1;
    }
  }
  return plan;
}

void sample_sweep(const std::vector<std::shared_ptr<const experts::SwitchedDenoiser>>& merged,
                  const experts::Denoiser& trunk, const at::Tensor& latents, const SamplerOptions& options,
                  core::SeededNoise& noise, const std::function<void(size_t, const at::Tensor&)>& on_point,
                  int64_t* nfe) {
  const SweepSamplingPlan plan = plan_sweep_sampling(merged, options);
  // Branches in the order the trunk reaches them.
  std::vector<size_t> order(plan.branch_point.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return plan.branch_call[plan.branch_point[a]] < plan.branch_call[plan.branch_point[b]];
  });
  EdmTrajectory trajectory(latents, options, noise);
  const auto deliver = [&](int64_t branch, const at::Tensor& state) {
    for (size_t k = 0; k < merged.size(); ++k) {
      if (plan.branch_of[k] == branch) on_point(k, state);
    }
  };
  for (const size_t branch : order) {
    const size_t k = plan.branch_point[branch];
    trajectory.advance(trunk, plan.branch_call[k], nfe);
    EdmTrajectory own = trajectory.fork();
    own.advance(*merged[k], own.num_calls(), nfe);
    deliver(static_cast<int64_t>(branch), own.final_state());
  }
  if (plan.trunk_calls == plan.num_calls) {
    trajectory.advance(trunk, plan.num_calls, nfe);
    deliver(-1, trajectory.final_state());
  }
}

}  // namespace switchdiff::sampling
