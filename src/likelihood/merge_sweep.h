#pragma once
// The merges of one sweep: K SwitchedDenoisers of the same expert pair (SwitchedDenoiser::merge(quality,
// likelihood, eta_k): expert(0) = likelihood for sigma <= eta_k, expert(1) = quality), or K one-expert
// SwitchedDenoisers of the same quality expert (no likelihood expert). Shared by the sweeps of pf_ode_sweep.h and
// elbo_sweep.h.
#include <memory>
#include <vector>

#include "experts/switched_denoiser.h"

namespace switchdiff::likelihood {

using MergedModels = std::vector<std::shared_ptr<const experts::SwitchedDenoiser>>;

// The switch sigma of each merge; 0 for a one-expert merge (the quality expert serves every sigma > 0).
// Throws std::invalid_argument unless all merges have the same experts (same objects) and one switch sigma each.
std::vector<double> sweep_switch_sigmas(const MergedModels& merged);

}  // namespace switchdiff::likelihood
