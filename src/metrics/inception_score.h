#pragma once
// Inception Score (Salimans et al. 2016, "Improved techniques for training GANs"; the reference
// inception_score.py of openai/improved-gan, also torch-fidelity's definition without its shuffle):
//
//   IS = exp(E_x KL(p(y|x) || p(y))),  p(y|x) = softmax(logits(x)),  p(y) = mean of p(y|x) over the split,
//
// computed on num_splits (default 10) consecutive splits of the N samples in sample-index order, split i
// holding indices [floor(i N / S), floor((i + 1) N / S)); reported as mean and standard deviation
// (population, ddof = 0, as np.std) of the per-split scores. All arithmetic in float64.
//
// Streaming: E_x KL(p || q) = (1/m) sum_x sum_y p log p - sum_y q log q with q = (1/m) sum_x p, so each split
// needs only m, sum_x p(y|x) [K] and sum_x sum_y p log p. The accumulator keeps these per split, merges by
// summation (ranks, resumed runs) and exposes them for an all-reduce. No MPI, no I/O.
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace switchdiff::metrics {

struct InceptionScore {
  double mean = 0.0;
  double std = 0.0;
  int64_t num_samples = 0;
  int64_t num_splits = 0;
};

class InceptionScoreAccumulator {
 public:
  // total_samples N >= num_splits >= 1; num_classes K >= 2.
  InceptionScoreAccumulator(int64_t total_samples, int64_t num_classes, int64_t num_splits = 10);

  // Copies are deep (a copy accumulates independently); moves are cheap.
  InceptionScoreAccumulator(const InceptionScoreAccumulator& other);
  InceptionScoreAccumulator& operator=(const InceptionScoreAccumulator& other);
  InceptionScoreAccumulator(InceptionScoreAccumulator&&) noexcept = default;
  InceptionScoreAccumulator& operator=(InceptionScoreAccumulator&&) noexcept = default;

  // logits: floating [B, K] of the samples with global indices first_index .. first_index + B - 1
  // (within [0, N)). InputError on shapes, indices out of range or non-finite logits.
  void add(const at::Tensor& logits, int64_t first_index);

  // Sums another accumulator over a disjoint set of indices (same N, K, S).
  InceptionScoreAccumulator& operator+=(const InceptionScoreAccumulator& other);

  // The per-split sums, float64, sharing storage with this object (an in-place all-reduce updates it):
  // counts [S], sum_p [S, K], sum_p_log_p [S].
  const at::Tensor& counts() const { return counts_; }
  const at::Tensor& sum_p() const { return sum_p_; }
  const at::Tensor& sum_p_log_p() const { return sum_p_log_p_; }

  // The score. InputError unless every split holds exactly its number of samples (each index added once).
  InceptionScore result() const;

  int64_t total_samples() const { return total_samples_; }
  int64_t num_splits() const { return counts_.size(0); }
  int64_t num_classes() const { return sum_p_.size(1); }

 private:
  int64_t split_begin(int64_t split) const;  // first global index of a split

  int64_t total_samples_ = 0;
  at::Tensor counts_;
  at::Tensor sum_p_;
  at::Tensor sum_p_log_p_;
};

// IS of all N samples at once: logits [N, K] in sample-index order.
InceptionScore inception_score(const at::Tensor& logits, int64_t num_splits = 10);

}  // namespace switchdiff::metrics
