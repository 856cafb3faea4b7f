#pragma once
// The sufficient statistics of a set of images as one flat float64 vector (a "slot"), so a sum over blocks is
// one tensor addition (dist::ordered_block_sum adds slots in block order): [n | sum f (F) | sum f f^T (F*F) |
// IS counts (S) | IS sum p (S*K) | IS sum p log p (S)], the Inception Score part only when S > 0.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>

#include "metrics/inception_score.h"
#include "metrics/inception_stats.h"

namespace switchdiff::metrics {

struct StatsSlotLayout {
  int64_t features = 0;  // F
  int64_t splits = 0;    // S; 0: no Inception Score
  int64_t classes = 0;   // K
  int64_t sum_offset() const { return 1; }
  int64_t outer_offset() const { return 1 + features; }
  int64_t counts_offset() const { return 1 + features + features * features; }
  int64_t sum_p_offset() const { return counts_offset() + splits; }
  int64_t p_log_p_offset() const { return sum_p_offset() + splits * classes; }
  int64_t numel() const { return p_log_p_offset() + splits; }
};

// A slot holding `stats` and, when layout.splits > 0, the Inception Score sums of `score` (CPU float64).
at::Tensor pack_stats_slot(const StatsSlotLayout& layout, const InceptionStats& stats,
                           const InceptionScoreAccumulator* score);

// The statistics of a (summed) slot; `score` (when layout.splits > 0) is filled with its Inception Score sums and
// must have been built with the same N, K and S.
InceptionStats unpack_stats_slot(const StatsSlotLayout& layout, const at::Tensor& slot,
                                 InceptionScoreAccumulator* score);

}  // namespace switchdiff::metrics
