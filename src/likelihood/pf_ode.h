#pragma once
// Log-density by the probability-flow ODE dx/dsigma = (x - D(x; sigma)) / sigma from sigma_min to sigma_max, with
// prior N(0, sigma_max^2 I) (derivation: docs/likelihood.md#the-probability-flow-ode). Contract:
//   - x0 floating [B, C, H, W] of the denoiser's shape; state, prior and divergence integral in float64 on the CPU;
//     results in nats per image, float64 [B]; counters int64 [B].
//   - The augmented state [x, int div f] is integrated by dopri5.h with per-image error control, and split at every
//     switch sigma of the denoiser and at every requested snapshot sigma, each split point an exact step end
//     (docs/likelihood.md#switch-points).
//   - pf_ode_advance() continues a state to a higher sigma with any denoiser; the sweep (pf_ode_sweep.h) uses it for
//     each point's quality band. Advancing in pieces [a, b], [b, c] equals one call over [a, c] with a snapshot at b,
//     bitwise (tests/likelihood/test_pf_ode.cpp); no pipeline code requests snapshots.
//   - An image's result depends on its batch-mates only through the expert's own kernels
//     (docs/likelihood.md#batch-and-rank-invariance). Math only: no MPI, no I/O; any rank may call it.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "experts/denoiser.h"
#include "likelihood/likelihood_options.h"

namespace switchdiff::likelihood {

// The augmented ODE state of a batch, all images at the same sigma. CPU tensors.
struct PfOdeState {
  double sigma = 0;       // the noise level every image is at
  at::Tensor x;           // float64 [B, C, H, W]
  at::Tensor delta_logp;  // float64 [B]: int div f dsigma from the start of the trajectory to sigma
  at::Tensor nfe;         // int64 [B]: drift evaluations so far (each = 1 network forward + 1 VJP per probe,
                          //   or + D VJPs for the exact divergence)
  at::Tensor accepted;    // int64 [B]: accepted steps so far
  at::Tensor rejected;    // int64 [B]: rejected steps so far
};

// The state at the start of a trajectory: x = x0 (converted to float64), delta_logp = 0, counters 0.
PfOdeState pf_ode_initial_state(const at::Tensor& x0, double sigma_start);

// Advances every image from state.sigma to sigma_to (>= state.sigma), split at each switch sigma of `denoiser`
// (if it is a experts::SwitchedDenoiser) and at each snapshot sigma strictly inside (state.sigma, sigma_to].
//   probes: float64 (or float32) [B, K, C, H, W], Hutchinson probes fixed for the whole trajectory (K =
//           options.probes); ignored (may be undefined) for Divergence::kExact.
//   image_ids: dataset indices for messages ("image 17"); empty = 0..B-1.
//   snapshots: if given, receives the state at each snapshot sigma in (state.sigma, sigma_to], ascending.
// Uses options.rtol, atol, divergence, max_steps, min_step (not sigma_min/sigma_max).
PfOdeState pf_ode_advance(const experts::Denoiser& denoiser, const PfOdeState& state, double sigma_to,
                          const at::Tensor& probes, const PfOdeOptions& options,
                          const std::vector<int64_t>& image_ids = {}, const std::vector<double>& snapshot_sigmas = {},
                          std::vector<PfOdeState>* snapshots = nullptr);

// log N(x; 0, sigma^2 I) per image, float64 [B].
at::Tensor gaussian_prior_log_density(const at::Tensor& x, double sigma);

struct PfOdeResult {
  at::Tensor log_density;             // float64 [B], nats: log N(x_T; 0, sigma_max^2 I) + delta_logp
  PfOdeState final_state;             // at sigma_max (x_T, delta_logp, counters)
  std::vector<PfOdeState> snapshots;  // at the requested snapshot sigmas, ascending
};

// log p_{sigma_min}(x0) by the PF-ODE from options.sigma_min to options.sigma_max (options validated here).
//   x0: floating [B, C, H, W] matching denoiser.image_shape() (InputError otherwise).
PfOdeResult pf_ode_log_density(const experts::Denoiser& denoiser, const at::Tensor& x0, const at::Tensor& probes,
                               const PfOdeOptions& options, const std::vector<int64_t>& image_ids = {},
                               const std::vector<double>& snapshot_sigmas = {});

// The sigmas where a trajectory over (sigma_from, sigma_to] is split: the denoiser's switch sigmas and the snapshot
// sigmas strictly inside, then sigma_to; ascending, without duplicates.
std::vector<double> pf_ode_split_points(const experts::Denoiser& denoiser, double sigma_from, double sigma_to,
                                        const std::vector<double>& snapshot_sigmas);

}  // namespace switchdiff::likelihood
