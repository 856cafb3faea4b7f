#include "metrics/stats_slot.h"

#include <ATen/ATen.h>

namespace switchdiff::metrics {

at::Tensor pack_stats_slot(const StatsSlotLayout& layout, const InceptionStats& stats,
                           const InceptionScoreAccumulator* score) {
  at::Tensor slot = at::zeros({layout.numel()}, at::kDouble);
  slot[0] = static_cast<double>(stats.count());
  slot.narrow(0, layout.sum_offset(), layout.features).copy_(stats.sum());
  slot.narrow(0, layout.outer_offset(), layout.features * layout.features).copy_(stats.sum_outer().reshape(-1));
  if (layout.splits > 0 && score) {
    slot.narrow(0, layout.counts_offset(), layout.splits).copy_(score->counts());
    slot.narrow(0, layout.sum_p_offset(), layout.splits * layout.classes).copy_(score->sum_p().reshape(-1));
    slot.narrow(0, layout.p_log_p_offset(), layout.splits).copy_(score->sum_p_log_p());
  }
  return slot;
}

InceptionStats unpack_stats_slot(const StatsSlotLayout& layout, const at::Tensor& slot,
                                 InceptionScoreAccumulator* score) {
  const int64_t f = layout.features;
  const auto n = static_cast<int64_t>(slot[0].item<double>());
  if (layout.splits > 0 && score) {
    // The accessors share storage with the accumulator (inception_score.h): fill them with the slot's sums.
    score->counts().copy_(slot.narrow(0, layout.counts_offset(), layout.splits));
    score->sum_p().copy_(
        slot.narrow(0, layout.sum_p_offset(), layout.splits * layout.classes).reshape({layout.splits, layout.classes}));
    score->sum_p_log_p().copy_(slot.narrow(0, layout.p_log_p_offset(), layout.splits));
  }
  return InceptionStats::from_sums(n, slot.narrow(0, layout.sum_offset(), f),
                                   slot.narrow(0, layout.outer_offset(), f * f).reshape({f, f}));
}

}  // namespace switchdiff::metrics
