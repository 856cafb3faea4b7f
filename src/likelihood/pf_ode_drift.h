#pragma once
// The probability-flow ODE drift in the variance-exploding / EDM variable (docs/likelihood.md; Song et al. 2021 eq.
// (13) with g^2 = d sigma^2 / d sigma, Karras et al. 2022 eq. (3)):
//   f(x; sigma) = dx/dsigma = (x - D(x; sigma)) / sigma,
//   div f       = (D - tr dD/dx) / sigma          (D = number of dimensions C*H*W),
// and the divergence either exactly (one vector-Jacobian product per dimension) or by Hutchinson-Skilling
// (Skilling 1989, Hutchinson 1990; as in score_sde's get_div_fn): eps^T (df/dx) eps averaged over the K probes,
// which is (eps.eps - eps^T (dD/dx) eps) / sigma.
//
// Vector-Jacobian products use torch autograd through the denoiser (Denoiser contract: D is differentiable
// w.r.t. x); do not call under c10::InferenceMode. All reductions are per image in float64 loops.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>

#include "experts/denoiser.h"
#include "likelihood/likelihood_options.h"

namespace switchdiff::likelihood {

struct DriftAndDivergence {
  at::Tensor drift;       // float64 [m, C, H, W]
  at::Tensor divergence;  // float64 [m]
};

// x: float64 [m, C, H, W]; sigma: float64 [m], the ODE variable (divides x - D);
// denoiser_sigma: float64 [m], the noise level passed to the denoiser (equal to sigma except at a band's lower
// edge, see pf_ode.h); probes: float64 [m, K, C, H, W] for kHutchinson (ignored for kExact).
// row_name(i) names row i in errors (non-finite drift or divergence -> InputError with the sigma).
DriftAndDivergence pf_ode_drift(const experts::Denoiser& denoiser, const at::Tensor& x, const at::Tensor& sigma,
                                const at::Tensor& denoiser_sigma, const at::Tensor& probes, Divergence divergence,
                                const std::function<std::string(int64_t)>& row_name);

}  // namespace switchdiff::likelihood
