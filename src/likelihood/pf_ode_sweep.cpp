#include "likelihood/pf_ode_sweep.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <map>
#include <stdexcept>

#include "core/error.h"
#include "likelihood/dopri5.h"
#include "likelihood/pf_ode_band.h"

namespace switchdiff::likelihood {
namespace {

int64_t total(const at::Tensor& counts) { return counts.sum().item<int64_t>(); }

PfOdeResult finish(const PfOdeState& state, double sigma_max) {
  PfOdeResult r;
  r.final_state = state;
  r.log_density = gaussian_prior_log_density(state.x, sigma_max) + state.delta_logp;
  return r;
}

}  // namespace

PfOdeSweepResult pf_ode_log_density_sweep(const MergedModels& merged, const at::Tensor& x0, const at::Tensor& probes,
                                          const PfOdeOptions& options, const std::vector<int64_t>& image_ids) {
  options.validate();
  const std::vector<double> etas = sweep_switch_sigmas(merged);
  const experts::ImageShape shape = merged.front()->image_shape();
  if (x0.dim() != 4 || x0.size(1) != shape.channels || x0.size(2) != shape.height || x0.size(3) != shape.width ||
      !at::isFloatingType(x0.scalar_type())) {
    throw make_error<InputError>("PF-ODE sweep: images of shape {} do not match {}, which expects floating {}",
                                 fmt::format("{}", fmt::join(x0.sizes(), "x")), merged.front()->name(), shape.str());
  }
  if (!image_ids.empty() && static_cast<int64_t>(image_ids.size()) != x0.size(0)) {
    throw std::invalid_argument("pf_ode_log_density_sweep: image_ids must be empty or have one entry per image");
  }
  const double lo = options.sigma_min, hi = options.sigma_max;
  const size_t count = merged.size();
  PfOdeSweepResult out;
  out.points.resize(count);
  if (x0.size(0) == 0) {  // nothing to integrate or share
    for (size_t k = 0; k < count; ++k) out.points[k] = pf_ode_log_density(*merged[k], x0, probes, options, image_ids);
    return out;
  }
  const PfOdeState start = pf_ode_initial_state(x0, lo);

  // Quality alone (eta <= sigma_min): one trajectory for all of them.
  std::vector<size_t> quality_alone;
  for (size_t k = 0; k < count; ++k) {
    if (etas[k] <= lo) quality_alone.push_back(k);
  }
  if (!quality_alone.empty()) {
    const PfOdeState end = pf_ode_advance(*merged[quality_alone[0]], start, hi, probes, options, image_ids);
    out.performed_quality_nfe += total(end.nfe);
    for (const size_t k : quality_alone) out.points[k] = finish(end, hi);
  }
  if (quality_alone.size() == count) return out;

  // The shared likelihood band [sigma_min, T], forked at the smaller etas.
  size_t widest = count;
  for (size_t k = 0; k < count; ++k) {
    if (etas[k] > lo && (widest == count || etas[k] > etas[widest])) widest = k;
  }
  const double trunk_end = std::min(etas[widest], hi);
  std::vector<double> thresholds;
  for (size_t k = 0; k < count; ++k) {
    if (etas[k] > lo && etas[k] < trunk_end) thresholds.push_back(etas[k]);
  }
  std::sort(thresholds.begin(), thresholds.end());
  thresholds.erase(std::unique(thresholds.begin(), thresholds.end()), thresholds.end());

  const at::Tensor probes64 = pf_ode_probes(probes, start.x, options);
  const ImageName image_name = pf_ode_image_name(image_ids);
  const Dopri5Settings settings = pf_ode_solver_settings(options, image_name);
  const std::vector<int64_t> image_shape = start.x.sizes().vec();
  at::Tensor y = pf_ode_augmented_rows(start);
  std::vector<StepCounts> counts = pf_ode_counts(start);
  std::vector<std::vector<Dopri5RowState>> forks;
  // The widest merge serves every sigma <= trunk_end with its likelihood expert.
  const BatchRhs trunk = pf_ode_band_rhs(*merged[widest], lo, trunk_end, image_shape, probes64, options.divergence,
                                         image_name, &out.performed_likelihood_nfe);
  dopri5_integrate_forking(trunk, y, lo, trunk_end, thresholds, settings, counts, forks);
  std::map<double, PfOdeState> at_switch;  // the state at each eta (and at trunk_end)
  at_switch.emplace(trunk_end, pf_ode_state_from(trunk_end, y, start.x.sizes(), counts));
  for (size_t a = 0; a < thresholds.size(); ++a) {
    const BatchRhs band = pf_ode_band_rhs(*merged[widest], lo, thresholds[a], image_shape, probes64, options.divergence,
                                          image_name, &out.performed_likelihood_nfe);
    std::vector<StepCounts> fork_counts;
    const at::Tensor fork_y = dopri5_resume(band, forks[a], thresholds[a], settings, fork_counts);
    at_switch.emplace(thresholds[a], pf_ode_state_from(thresholds[a], fork_y, start.x.sizes(), fork_counts));
  }

  // Then each distinct eta < sigma_max continues with its quality expert; eta >= sigma_max ends at the trunk's end.
  std::map<double, PfOdeResult> done;
  for (size_t k = 0; k < count; ++k) {
    if (etas[k] <= lo) continue;
    const double eta = std::min(etas[k], hi);
    auto it = done.find(eta);
    if (it == done.end()) {
      const PfOdeState& at_eta = at_switch.at(eta);
      if (eta == hi) {
        it = done.emplace(eta, finish(at_eta, hi)).first;
      } else {
        const PfOdeState end = pf_ode_advance(*merged[k], at_eta, hi, probes, options, image_ids);
        out.performed_quality_nfe += total(end.nfe) - total(at_eta.nfe);
        it = done.emplace(eta, finish(end, hi)).first;
      }
    }
    out.points[k] = it->second;
  }
  return out;
}

}  // namespace switchdiff::likelihood
