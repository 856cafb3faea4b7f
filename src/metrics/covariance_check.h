#pragma once
// Is a matrix read from a file plausibly a covariance? A covariance is symmetric positive semi-definite
// (Σ = E[(f-μ)(f-μ)ᵀ]); a file whose Σ is not, beyond rounding, is corrupt or not a covariance at all, and
// FID computed from it (docs/metrics.md) would be a meaningless number with exit 0.
//
// Checks, in order, with `relative_tolerance` t scaled by s = the largest diagonal entry (for a PSD matrix
// |Σ_ij| <= sqrt(Σ_ii Σ_jj) <= s, so s is the natural unit of rounding error):
//   finite entries; symmetry max|Σ - Σᵀ| <= t s; no diagonal entry below -t s;
//   smallest eigenvalue >= -t s, tested exactly by a Cholesky factorisation of Σ + t s I (it succeeds iff
//   λ_min(Σ) > -t s), the eigenvalue itself computed only for the message.
// Pure math (ATen, float64 CPU): no files, no MPI.
#include <ATen/core/Tensor.h>

#include <optional>
#include <string>

namespace switchdiff::metrics {

// What is wrong with `sigma` ([F, F], any floating dtype), or nullopt when it passes. The text names the
// check and the measured values, e.g. "not positive semi-definite: smallest eigenvalue -3.2 (tolerance ...)".
std::optional<std::string> covariance_defect(const at::Tensor& sigma, double relative_tolerance);

}  // namespace switchdiff::metrics
