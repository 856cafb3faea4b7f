#pragma once
// Log-density by the probability-flow ODE (docs/likelihood.md; Song et al. 2021, Sec. D.2 / eq. (39), in the
// variance-exploding variable sigma):
//   dx/dsigma = f(x; sigma) = (x - D(x; sigma)) / sigma,   sigma from sigma_min to sigma_max,
//   log p_{sigma_min}(x(sigma_min)) = log N(x(sigma_max); 0, sigma_max^2 I) + int_{sigma_min}^{sigma_max} div f dsigma.
// The augmented state [x, int div f] (float64) is integrated by dopri5.h with per-image error control.
//
// Switching points. A merged denoiser's drift jumps at every switch sigma eta (docs/experts.md), so the integration is
// split there: band by band, each band ending exactly at eta, and the solver restarted (new initial step) in the
// next band. A SwitchedDenoiser serves sigma == eta with the lower (likelihood) expert, which is right for the
// band below eta (its right end). The band above eta must see the upper expert at its left end sigma = eta (the
// right-limit of the drift). So within the band (lo, hi] the denoiser is called with
//   denoiser_sigma = min(max(sigma, nextafter(lo, +inf)), hi),
// i.e. sigma moved up by one ulp only at the band's lower edge: band_of() then picks the upper expert, a
// float32 network sees the identical float32(eta), and a float64 expert a relative change of 1e-16. The 1/sigma
// of the drift keeps the exact sigma. Requested snapshot sigmas are further split points (the drift is continuous
// there, but a snapshot must be an exact step end). The same rule holds for every segment (also the first, at
// sigma_min), whatever the denoiser, so that results never depend on how a trajectory was cut into calls.
//
// Sharing work (the sweep): pf_ode_advance() continues a state from its sigma to a higher one with any denoiser,
// so a trajectory below the smallest switch sigma can be computed once and continued with each merged model.
// Because every split point restarts the solver, advancing in pieces [a, b], [b, c] equals one call over [a, c]
// with a snapshot at b, bitwise.
//
// Batch invariance: per-image steps, float64 per-row arithmetic; the network sees a sub-batch of the images still
// active, so an image's result depends on its batch-mates only through the expert's own kernels.
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
