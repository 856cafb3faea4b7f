#include "metrics/kid.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace switchdiff::metrics {
namespace {

at::Tensor checked_features(const at::Tensor& t, const char* which, int64_t dim) {
  if (!t.defined() || t.dim() != 2 || t.size(0) < 2 || t.size(1) < 1 || (dim > 0 && t.size(1) != dim) ||
      !at::isFloatingType(t.scalar_type())) {
    throw make_error<InputError>("KID: {} must be floating [N >= 2, {}], got {}", which,
                                 dim > 0 ? std::to_string(dim) : "d", t.defined() ? c10::str(t.sizes()) : "undefined");
  }
  const at::Tensor f = t.to(at::TensorOptions().dtype(at::kDouble).device(at::kCPU));
  if (!at::isfinite(f).all().item<bool>()) {
    throw make_error<InputError>("KID: {} contains NaN or infinity; check the feature extractor", which);
  }
  return f;
}

// Sum of the kernel matrix, optionally without its diagonal (the i == j terms of the unbiased estimate).
double kernel_sum(const at::Tensor& x, const at::Tensor& y, bool drop_diagonal) {
  const double d = static_cast<double>(x.size(1));
  const at::Tensor k = (at::matmul(x, y.t()) / d + 1.0).pow(3);
  double total = k.sum().item<double>();
  if (drop_diagonal) total -= k.diagonal().sum().item<double>();
  return total;
}

double mmd2_unchecked(const at::Tensor& x, const at::Tensor& y) {
  const double m = static_cast<double>(x.size(0));
  const double n = static_cast<double>(y.size(0));
  return kernel_sum(x, x, true) / (m * (m - 1.0)) + kernel_sum(y, y, true) / (n * (n - 1.0)) -
         2.0 * kernel_sum(x, y, false) / (m * n);
}

}  // namespace

double polynomial_mmd2_unbiased(const at::Tensor& x, const at::Tensor& y) {
  const at::Tensor fx = checked_features(x, "x", 0);
  return mmd2_unchecked(fx, checked_features(y, "y", fx.size(1)));
}

KernelInceptionDistance kernel_inception_distance(const at::Tensor& a, const at::Tensor& b, const KidOptions& options) {
  if (options.num_subsets < 1 || options.max_subset_size < 2) {
    throw make_error<InputError>("KID: needs num_subsets >= 1 and max_subset_size >= 2, got {} and {}",
                                 options.num_subsets, options.max_subset_size);
  }
  const at::Tensor fa = checked_features(a, "features a", 0);
  const at::Tensor fb = checked_features(b, "features b", fa.size(1));
  const int64_t m = std::min({options.max_subset_size, fa.size(0), fb.size(0)});
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  const auto index_options = at::TensorOptions().dtype(at::kLong);
  std::vector<double> estimates;
  for (int64_t s = 0; s < options.num_subsets; ++s) {
    // Without replacement within a subset (a random permutation's first m), independent across subsets.
    const at::Tensor ia = at::randperm(fa.size(0), generator, index_options).narrow(0, 0, m);
    const at::Tensor ib = at::randperm(fb.size(0), generator, index_options).narrow(0, 0, m);
    estimates.push_back(mmd2_unchecked(fa.index_select(0, ia), fb.index_select(0, ib)));
  }
  double mean = 0.0;
  for (double e : estimates) mean += e;
  mean /= static_cast<double>(estimates.size());
  double variance = 0.0;
  for (double e : estimates) variance += (e - mean) * (e - mean);
  variance /= static_cast<double>(estimates.size());
  return {mean, std::sqrt(variance), m, options.num_subsets};
}

}  // namespace switchdiff::metrics
