#pragma once
// The pieces of pf_ode_advance (pf_ode.h) that the switch-sigma sweep (pf_ode_sweep.h) shares: the augmented rows
// [x_1 .. x_D, int div f], the drift of one band (lo, hi] as a dopri5 right-hand side, and the solver settings.
// Internal to the likelihood module.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "experts/denoiser.h"
#include "likelihood/dopri5.h"
#include "likelihood/likelihood_options.h"
#include "likelihood/pf_ode.h"

namespace switchdiff::likelihood {

using ImageName = std::function<std::string(int64_t)>;

// "image <id>" for batch row i (image_ids empty: the row itself).
ImageName pf_ode_image_name(const std::vector<int64_t>& image_ids);

// The state as float64 rows [B, D + 1] and its counters.
at::Tensor pf_ode_augmented_rows(const PfOdeState& state);
std::vector<StepCounts> pf_ode_counts(const PfOdeState& state);
// Back: x reshaped to `shape`, the counters as int64 [B].
PfOdeState pf_ode_state_from(double sigma, const at::Tensor& y, at::IntArrayRef shape,
                             const std::vector<StepCounts>& counts);

Dopri5Settings pf_ode_solver_settings(const PfOdeOptions& options, ImageName image_name);

// The Hutchinson probes as contiguous float64 CPU (undefined for the exact divergence), checked against x [B, ...].
at::Tensor pf_ode_probes(const at::Tensor& probes, const at::Tensor& x, const PfOdeOptions& options);

// The drift of band (lo, hi]: the denoiser sees min(max(sigma, nextafter(lo, +inf)), hi) (pf_ode.h), the 1/sigma
// keeps the exact sigma. rows index probes64 and image_name. evaluations (optional) counts drift evaluations (rows).
BatchRhs pf_ode_band_rhs(const experts::Denoiser& denoiser, double lo, double hi, std::vector<int64_t> image_shape,
                         at::Tensor probes64, Divergence divergence, ImageName image_name,
                         int64_t* evaluations = nullptr);

}  // namespace switchdiff::likelihood
