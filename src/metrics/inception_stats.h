#pragma once
// Streaming sufficient statistics of feature vectors for FID (docs/metrics.md): n, sum f, sum f f^T in float64.
//
//   mu    = sum f / n
//   Sigma = (sum f f^T - n mu mu^T) / (n - 1)     (unbiased; EDM fid.py, Karras et al. 2022)
//
// Statistics of disjoint sample sets merge by summation (operator+=), so ranks and resumed runs combine
// exactly as one pass would, to float64 rounding. The three sums are exposed so pipeline code can
// all-reduce them (dist::Communicator::all_reduce_sum on sum() and sum_outer(), n separately) and
// rebuild with from_sums(). The sums live on the device given at construction (CPU by default);
// add() moves incoming features there. Not thread-safe; no MPI, no I/O.
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace switchdiff::metrics {

class InceptionStats {
 public:
  // Empty statistics of feature_dim-dimensional features (feature_dim >= 1).
  explicit InceptionStats(int64_t feature_dim, c10::Device device = c10::Device(c10::kCPU));

  // Copies are deep (a copy accumulates independently); moves are cheap.
  InceptionStats(const InceptionStats& other);
  InceptionStats& operator=(const InceptionStats& other);
  InceptionStats(InceptionStats&&) noexcept = default;
  InceptionStats& operator=(InceptionStats&&) noexcept = default;

  // Rebuilds statistics from raw sums (e.g. after an all-reduce or read from a file). sum: [F],
  // sum_outer: [F, F], any floating dtype (cast to float64); InputError on shapes, n < 0 or non-finite.
  static InceptionStats from_sums(int64_t n, const at::Tensor& sum, const at::Tensor& sum_outer);

  // Accumulates a batch of features [B, F] (any floating dtype, any device). B = 0 is a no-op.
  // InputError on a wrong shape or non-finite values.
  void add(const at::Tensor& features);

  // Adds other's sums (other must have the same F); the result is the statistics of the union.
  InceptionStats& operator+=(const InceptionStats& other);
  void merge(const InceptionStats& other) { *this += other; }

  int64_t count() const { return n_; }
  int64_t feature_dim() const { return sum_.size(0); }
  // The raw sums, float64. The returned tensors share storage with this object, so an in-place
  // all-reduce on them updates it (then fix the count with set_count()).
  const at::Tensor& sum() const { return sum_; }
  const at::Tensor& sum_outer() const { return sum_outer_; }
  void set_count(int64_t n);

  // mu: float64 [F]. InputError when n < 1.
  at::Tensor mean() const;
  // Sigma: float64 [F, F], exactly symmetric. InputError when n < 2 (the unbiased estimate needs two samples).
  at::Tensor covariance() const;

 private:
  InceptionStats(int64_t n, at::Tensor sum, at::Tensor sum_outer);

  int64_t n_ = 0;
  at::Tensor sum_;        // float64 [F]
  at::Tensor sum_outer_;  // float64 [F, F]
};

}  // namespace switchdiff::metrics
