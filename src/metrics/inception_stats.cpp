#include "metrics/inception_stats.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace switchdiff::metrics {
namespace {

bool all_finite(const at::Tensor& t) { return at::isfinite(t).all().item<bool>(); }

}  // namespace

InceptionStats::InceptionStats(int64_t feature_dim, c10::Device device) {
  if (feature_dim < 1) {
    throw make_error<InputError>("Inception statistics need feature_dim >= 1, got {}", feature_dim);
  }
  const auto options = at::TensorOptions().dtype(at::kDouble).device(device);
  sum_ = at::zeros({feature_dim}, options);
  sum_outer_ = at::zeros({feature_dim, feature_dim}, options);
}

InceptionStats::InceptionStats(int64_t n, at::Tensor sum, at::Tensor sum_outer)
    : n_(n), sum_(std::move(sum)), sum_outer_(std::move(sum_outer)) {}

InceptionStats::InceptionStats(const InceptionStats& other)
    : n_(other.n_), sum_(other.sum_.clone()), sum_outer_(other.sum_outer_.clone()) {}

InceptionStats& InceptionStats::operator=(const InceptionStats& other) {
  if (this != &other) *this = InceptionStats(other);
  return *this;
}

InceptionStats InceptionStats::from_sums(int64_t n, const at::Tensor& sum, const at::Tensor& sum_outer) {
  if (n < 0) throw make_error<InputError>("Inception statistics: sample count n = {} is negative", n);
  if (!sum.defined() || !sum_outer.defined() || sum.dim() != 1 || sum.size(0) < 1 || sum_outer.dim() != 2 ||
      sum_outer.size(0) != sum.size(0) || sum_outer.size(1) != sum.size(0)) {
    throw make_error<InputError>("Inception statistics: sum must be [F] and sum_outer [F, F], got {} and {}",
                                 sum.defined() ? c10::str(sum.sizes()) : "undefined",
                                 sum_outer.defined() ? c10::str(sum_outer.sizes()) : "undefined");
  }
  if (!at::isFloatingType(sum.scalar_type()) || !at::isFloatingType(sum_outer.scalar_type())) {
    throw make_error<InputError>("Inception statistics: sums must be floating point, got {} and {}",
                                 std::string(c10::toString(sum.scalar_type())),
                                 std::string(c10::toString(sum_outer.scalar_type())));
  }
  if (!all_finite(sum) || !all_finite(sum_outer)) {
    throw make_error<InputError>(
        "Inception statistics: the sums contain NaN or infinity; the features were not finite");
  }
  const auto options = at::TensorOptions().dtype(at::kDouble).device(sum.device());
  return InceptionStats(n, sum.to(options, /*non_blocking=*/false, /*copy=*/true),
                        sum_outer.to(options, /*non_blocking=*/false, /*copy=*/true));
}

void InceptionStats::add(const at::Tensor& features) {
  const int64_t dim = feature_dim();
  if (!features.defined() || features.dim() != 2 || features.size(1) != dim ||
      !at::isFloatingType(features.scalar_type())) {
    throw make_error<InputError>("Inception statistics: features must be floating [B, {}], got {} {}", dim,
                                 features.defined() ? std::string(c10::toString(features.scalar_type())) : "undefined",
                                 features.defined() ? c10::str(features.sizes()) : "");
  }
  if (features.size(0) == 0) return;
  const at::Tensor f = features.to(sum_.options()).contiguous();
  const at::Tensor batch_sum = f.sum(0);
  // Any NaN or infinity in f reaches its column sum, so one O(F) check guards both sums.
  if (!all_finite(batch_sum)) {
    throw make_error<InputError>(
        "Inception statistics: a batch of {} feature vectors contains NaN or infinity; check the extractor", f.size(0));
  }
  sum_.add_(batch_sum);
  sum_outer_.addmm_(f.t(), f);  // sum f f^T over the batch, float64 (as EDM fid.py accumulates)
  n_ += f.size(0);
}

InceptionStats& InceptionStats::operator+=(const InceptionStats& other) {
  if (other.feature_dim() != feature_dim()) {
    throw make_error<InputError>(
        "Inception statistics: cannot merge F = {} with F = {}; both must come from the "
        "same feature extractor",
        feature_dim(), other.feature_dim());
  }
  sum_.add_(other.sum_.to(sum_.device()));
  sum_outer_.add_(other.sum_outer_.to(sum_outer_.device()));
  n_ += other.n_;
  return *this;
}

void InceptionStats::set_count(int64_t n) {
  if (n < 0) throw make_error<InputError>("Inception statistics: sample count n = {} is negative", n);
  n_ = n;
}

at::Tensor InceptionStats::mean() const {
  if (n_ < 1) throw make_error<InputError>("Inception statistics: the mean needs at least 1 sample, got n = {}", n_);
  return sum_ / static_cast<double>(n_);
}

at::Tensor InceptionStats::covariance() const {
  if (n_ < 2) {
    throw make_error<InputError>(
        "Inception statistics: the covariance needs at least 2 samples, got n = {}; compute statistics over more "
        "images (FID is normally computed over 50000)",
        n_);
  }
  const at::Tensor mu = mean();
  const double n = static_cast<double>(n_);
  at::Tensor sigma = (sum_outer_ - n * at::outer(mu, mu)) / (n - 1.0);
  // The GEMM of add() may round (i, j) and (j, i) differently; make it exactly symmetric.
  return (sigma + sigma.t()) * 0.5;
}

}  // namespace switchdiff::metrics
