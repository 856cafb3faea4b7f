#include "metrics/frechet_distance.h"

#include <ATen/ATen.h>

#include <limits>
#include <string>

#include "core/error.h"
#include "metrics/inception_stats.h"

namespace switchdiff::metrics {
namespace {

at::Tensor as_cpu_double(const at::Tensor& t) { return t.to(at::TensorOptions().dtype(at::kDouble).device(at::kCPU)); }

void check_covariance(const at::Tensor& sigma, int64_t dim, const char* which) {
  if (!sigma.defined() || sigma.dim() != 2 || sigma.size(0) != dim || sigma.size(1) != dim ||
      !at::isFloatingType(sigma.scalar_type())) {
    throw make_error<InputError>("Fréchet distance: {} must be floating [{}, {}], got {}", which, dim, dim,
                                 sigma.defined() ? c10::str(sigma.sizes()) : "undefined");
  }
  const at::Tensor s = as_cpu_double(sigma);
  if (!at::isfinite(s).all().item<bool>()) {
    throw make_error<InputError>("Fréchet distance: {} contains NaN or infinity; recompute the statistics", which);
  }
  // A covariance is symmetric; a large asymmetry means a corrupt or transposed-wrong input, not rounding.
  const double scale = s.abs().max().item<double>();
  const double asymmetry = (s - s.t()).abs().max().item<double>();
  if (asymmetry > 1e-6 * scale) {
    throw make_error<InputError>(
        "Fréchet distance: {} is not symmetric (max |S - S^T| = {:.3g}, max |S| = {:.3g}); "
        "pass a covariance matrix",
        which, asymmetry, scale);
  }
}

// Eigenvalues at or below numpy's matrix_rank tolerance (dim * eps * largest |eigenvalue|) are rounding noise
// of a rank-deficient matrix, or of a negative-by-rounding one: set them to 0.
at::Tensor clamp_to_rounding_floor(const at::Tensor& eigenvalues) {
  if (eigenvalues.numel() == 0) return eigenvalues;
  const double largest = eigenvalues.abs().max().item<double>();
  const double floor = static_cast<double>(eigenvalues.numel()) * std::numeric_limits<double>::epsilon() * largest;
  return at::where(eigenvalues > floor, eigenvalues, at::zeros_like(eigenvalues));
}

}  // namespace

double trace_sqrt_product(const at::Tensor& sigma1, const at::Tensor& sigma2) {
  const int64_t dim = sigma1.defined() && sigma1.dim() == 2 ? sigma1.size(0) : -1;
  check_covariance(sigma1, dim, "Sigma1");
  check_covariance(sigma2, dim, "Sigma2");
  const at::Tensor s1 = as_cpu_double(sigma1);
  const at::Tensor s2 = as_cpu_double(sigma2);
  // Sigma1 = V diag(w) V^T; Sigma1^1/2 = V_r diag(sqrt w_r) V_r^T over the r eigenvalues above the floor.
  auto [w1, v1] = at::linalg_eigh(0.5 * (s1 + s1.t()));
  w1 = clamp_to_rounding_floor(w1);
  const at::Tensor kept = at::nonzero(w1 > 0).flatten();
  if (kept.numel() == 0) return 0.0;                          // Sigma1 = 0: the product is 0
  const at::Tensor v_r = v1.index_select(1, kept);            // [F, r], orthonormal columns
  const at::Tensor root_w = w1.index_select(0, kept).sqrt();  // [r]
  // Sigma1^1/2 Sigma2 Sigma1^1/2 = V_r K V_r^T with K = diag(root_w) V_r^T Sigma2 V_r diag(root_w), so its
  // nonzero eigenvalues are those of the r x r symmetric K (no null-space rounding noise enters).
  at::Tensor k = at::matmul(v_r.t(), at::matmul(s2, v_r));
  k = root_w.unsqueeze(1) * k * root_w.unsqueeze(0);
  const at::Tensor k_eigenvalues = clamp_to_rounding_floor(at::linalg_eigvalsh(0.5 * (k + k.t())));
  return k_eigenvalues.sqrt().sum().item<double>();
}

double frechet_distance(const at::Tensor& mu1, const at::Tensor& sigma1, const at::Tensor& mu2,
                        const at::Tensor& sigma2) {
  if (!mu1.defined() || !mu2.defined() || mu1.dim() != 1 || mu2.dim() != 1 || mu1.size(0) != mu2.size(0) ||
      mu1.size(0) < 1 || !at::isFloatingType(mu1.scalar_type()) || !at::isFloatingType(mu2.scalar_type())) {
    throw make_error<InputError>(
        "Fréchet distance: means must be floating vectors of the same length F, got {} and {}; both statistics "
        "must come from the same feature extractor",
        mu1.defined() ? c10::str(mu1.sizes()) : "undefined", mu2.defined() ? c10::str(mu2.sizes()) : "undefined");
  }
  const int64_t dim = mu1.size(0);
  check_covariance(sigma1, dim, "Sigma1");
  check_covariance(sigma2, dim, "Sigma2");  // trace_sqrt_product checks again: O(F^2) next to its O(F^3)
  const at::Tensor m1 = as_cpu_double(mu1);
  const at::Tensor m2 = as_cpu_double(mu2);
  if (!at::isfinite(m1).all().item<bool>() || !at::isfinite(m2).all().item<bool>()) {
    throw make_error<InputError>("Fréchet distance: a mean contains NaN or infinity; recompute the statistics");
  }
  const double mean_term = (m1 - m2).square().sum().item<double>();
  const double traces = as_cpu_double(sigma1).trace().item<double>() + as_cpu_double(sigma2).trace().item<double>();
  return mean_term + traces - 2.0 * trace_sqrt_product(sigma1, sigma2);
}

double frechet_distance(const InceptionStats& a, const InceptionStats& b) {
  if (a.feature_dim() != b.feature_dim()) {
    throw make_error<InputError>(
        "Fréchet distance: statistics have F = {} and F = {}; both must come from the same "
        "feature extractor",
        a.feature_dim(), b.feature_dim());
  }
  return frechet_distance(a.mean(), a.covariance(), b.mean(), b.covariance());
}

}  // namespace switchdiff::metrics
