#include "metrics/covariance_check.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace switchdiff::metrics {

std::optional<std::string> covariance_defect(const at::Tensor& sigma, double relative_tolerance) {
  if (!sigma.defined() || sigma.dim() != 2 || sigma.size(0) != sigma.size(1)) {
    return std::string("not a square matrix");
  }
  const at::Tensor s = sigma.to(at::TensorOptions().dtype(at::kDouble).device(at::kCPU)).contiguous();
  if (!at::isfinite(s).all().item<bool>()) return std::string("contains NaN or infinity");
  if (s.numel() == 0) return std::nullopt;
  const at::Tensor diagonal = s.diagonal();
  const double scale = diagonal.max().item<double>();
  // A zero matrix is PSD (a set of identical images); the floor keeps Σ + τI factorable then.
  const double tau = std::max(relative_tolerance * std::max(scale, 0.0), std::numeric_limits<double>::min());
  const double asymmetry = (s - s.t()).abs().max().item<double>();
  if (asymmetry > tau) {
    return fmt::format(
        "not symmetric: max |sigma - sigma^T| = {:.3g} > tolerance {:.3g} ({:g} x largest variance {:.3g})", asymmetry,
        tau, relative_tolerance, scale);
  }
  const double smallest_diagonal = diagonal.min().item<double>();
  if (smallest_diagonal < -tau) {
    return fmt::format("not positive semi-definite: a variance (diagonal entry) is {:.6g} < 0", smallest_diagonal);
  }
  const at::Tensor shifted = s + tau * at::eye(s.size(0), s.options());
  const auto [factor, info] = at::linalg_cholesky_ex(shifted);
  if (info.item<int64_t>() != 0) {
    const double smallest = at::linalg_eigvalsh(s).min().item<double>();
    return fmt::format(
        "not positive semi-definite: smallest eigenvalue {:.6g} < -tolerance {:.3g} ({:g} x largest variance {:.3g})",
        smallest, tau, relative_tolerance, scale);
  }
  return std::nullopt;
}

}  // namespace switchdiff::metrics
