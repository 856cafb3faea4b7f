#include "metrics/inception_score.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace switchdiff::metrics {

InceptionScoreAccumulator::InceptionScoreAccumulator(int64_t total_samples, int64_t num_classes, int64_t num_splits)
    : total_samples_(total_samples) {
  if (num_splits < 1 || total_samples < num_splits || num_classes < 2) {
    throw make_error<InputError>(
        "Inception Score: needs N >= splits >= 1 and K >= 2 classes, got N = {}, splits = {}, K = {}; "
        "score more samples (normally 50000) or lower the number of splits",
        total_samples, num_splits, num_classes);
  }
  const auto options = at::TensorOptions().dtype(at::kDouble);
  counts_ = at::zeros({num_splits}, options);
  sum_p_ = at::zeros({num_splits, num_classes}, options);
  sum_p_log_p_ = at::zeros({num_splits}, options);
}

InceptionScoreAccumulator::InceptionScoreAccumulator(const InceptionScoreAccumulator& other)
    : total_samples_(other.total_samples_),
      counts_(other.counts_.clone()),
      sum_p_(other.sum_p_.clone()),
      sum_p_log_p_(other.sum_p_log_p_.clone()) {}

InceptionScoreAccumulator& InceptionScoreAccumulator::operator=(const InceptionScoreAccumulator& other) {
  if (this != &other) *this = InceptionScoreAccumulator(other);
  return *this;
}

int64_t InceptionScoreAccumulator::split_begin(int64_t split) const {
  return split * total_samples_ / num_splits();  // floor(i N / S), as the reference's preds[i*N//S : ...]
}

void InceptionScoreAccumulator::add(const at::Tensor& logits, int64_t first_index) {
  const int64_t classes = num_classes();
  if (!logits.defined() || logits.dim() != 2 || logits.size(1) != classes ||
      !at::isFloatingType(logits.scalar_type())) {
    throw make_error<InputError>("Inception Score: logits must be floating [B, {}], got {}", classes,
                                 logits.defined() ? c10::str(logits.sizes()) : "undefined");
  }
  const int64_t batch = logits.size(0);
  if (first_index < 0 || first_index + batch > total_samples_) {
    throw make_error<InputError>("Inception Score: sample indices {}..{} lie outside 0..{} (N = {})", first_index,
                                 first_index + batch - 1, total_samples_ - 1, total_samples_);
  }
  if (batch == 0) return;
  const at::Tensor z = logits.to(at::TensorOptions().dtype(at::kDouble).device(at::kCPU));
  if (!at::isfinite(z).all().item<bool>()) {
    throw make_error<InputError>("Inception Score: logits of samples {}..{} contain NaN or infinity", first_index,
                                 first_index + batch - 1);
  }
  // log_softmax is stable for any finite logits; p log p = exp(lp) lp is 0 where p underflows.
  const at::Tensor log_p = at::log_softmax(z, 1);
  const at::Tensor p = log_p.exp();
  const at::Tensor p_log_p = (p * log_p).sum(1);  // [B]
  // Walk the splits that overlap [first_index, first_index + batch).
  int64_t split = 0;
  while (split + 1 < num_splits() && split_begin(split + 1) <= first_index) ++split;
  int64_t row = 0;
  while (row < batch) {
    const int64_t end = split + 1 < num_splits() ? split_begin(split + 1) : total_samples_;
    const int64_t take = std::min(batch - row, end - (first_index + row));
    counts_[split] += static_cast<double>(take);
    sum_p_[split].add_(p.narrow(0, row, take).sum(0));
    sum_p_log_p_[split] += p_log_p.narrow(0, row, take).sum();
    row += take;
    ++split;
  }
}

InceptionScoreAccumulator& InceptionScoreAccumulator::operator+=(const InceptionScoreAccumulator& other) {
  if (other.total_samples_ != total_samples_ || other.num_splits() != num_splits() ||
      other.num_classes() != num_classes()) {
    throw make_error<InputError>("Inception Score: cannot merge (N, K, splits) = ({}, {}, {}) with ({}, {}, {})",
                                 total_samples_, num_classes(), num_splits(), other.total_samples_, other.num_classes(),
                                 other.num_splits());
  }
  counts_.add_(other.counts_);
  sum_p_.add_(other.sum_p_);
  sum_p_log_p_.add_(other.sum_p_log_p_);
  return *this;
}

InceptionScore InceptionScoreAccumulator::result() const {
  const int64_t splits = num_splits();
  const auto counts = counts_.contiguous();
  std::vector<double> scores;
  for (int64_t i = 0; i < splits; ++i) {
    const int64_t expected = (i + 1 < splits ? split_begin(i + 1) : total_samples_) - split_begin(i);
    const double got = counts[i].item<double>();
    if (got != static_cast<double>(expected)) {
      throw make_error<InputError>(
          "Inception Score: split {} holds {} samples, expected {}; every sample index "
          "0..{} must be added exactly once",
          i, got, expected, total_samples_ - 1);
    }
    const double m = got;
    const at::Tensor q = sum_p_[i] / m;
    // E_x KL(p||q) = (1/m) sum p log p - sum q log q; xlogy gives 0 log 0 = 0.
    const double mean_kl = sum_p_log_p_[i].item<double>() / m - at::xlogy(q, q).sum().item<double>();
    scores.push_back(std::exp(mean_kl));
  }
  double mean = 0.0;
  for (double s : scores) mean += s;
  mean /= static_cast<double>(splits);
  double variance = 0.0;
  for (double s : scores) variance += (s - mean) * (s - mean);
  variance /= static_cast<double>(splits);  // ddof = 0, as np.std in the reference
  return {mean, std::sqrt(variance), total_samples_, splits};
}

InceptionScore inception_score(const at::Tensor& logits, int64_t num_splits) {
  if (!logits.defined() || logits.dim() != 2) {
    throw make_error<InputError>("Inception Score: logits must be [N, K], got {}",
                                 logits.defined() ? c10::str(logits.sizes()) : "undefined");
  }
  InceptionScoreAccumulator accumulator(logits.size(0), logits.size(1), num_splits);
  accumulator.add(logits, 0);
  return accumulator.result();
}

}  // namespace switchdiff::metrics
