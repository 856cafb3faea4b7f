#pragma once
// Test data for ordered sums: per-block float64 partials whose sum depends on the order of addition
// (values with many significant bits and a wide dynamic range), plus the plain-C++ oracle (a left fold in
// block order) and the order a naive "sum per rank, then over ranks" reduction would use.
#include <ATen/ATen.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

#include "dist/shard_plan.h"

namespace switchdiff::dist::test {

// Element j of block b's partial: deterministic, different on every block, not exactly representable
// sums (thirds, square roots) and occasional 1e15-scale terms so rounding depends on the order.
inline double partial_value(int64_t block, int64_t j) {
  const double b = static_cast<double>(block);
  const double x = static_cast<double>(j);
  double value = (b + 1.0) / 3.0 + std::sqrt(x + 2.0) * 0.1 + std::sin(b * 0.7 + x);
  if ((block + j) % 5 == 0) value += 1e15 / (b + 1.0);
  if ((block + j) % 7 == 3) value -= 1e15 / (b + 2.0);
  return value;
}

inline at::Tensor partial_tensor(int64_t block, at::IntArrayRef shape) {
  at::Tensor t = at::empty(shape, at::kDouble);
  double* data = t.data_ptr<double>();
  for (int64_t j = 0; j < t.numel(); ++j) data[j] = partial_value(block, j);
  return t;
}

inline std::map<int64_t, at::Tensor> partials_for_rank(const ShardPlan& plan, int rank, at::IntArrayRef shape) {
  std::map<int64_t, at::Tensor> partials;
  for (const Block& b : plan.blocks_for_rank(rank)) partials[b.index] = partial_tensor(b.index, shape);
  return partials;
}

// Oracle: s_j = ((p_0j + p_1j) + p_2j) + ... in plain doubles.
inline std::vector<double> left_fold(int64_t num_blocks, int64_t numel) {
  std::vector<double> sum(static_cast<size_t>(numel), 0.0);
  for (int64_t b = 0; b < num_blocks; ++b) {
    for (int64_t j = 0; j < numel; ++j) sum[static_cast<size_t>(j)] += partial_value(b, j);
  }
  return sum;
}

// What a rank-count dependent reduction gives: each rank sums its own blocks, then the ranks' sums are added.
inline std::vector<double> per_rank_then_ranks(const ShardPlan& plan, int64_t numel) {
  std::vector<double> sum(static_cast<size_t>(numel), 0.0);
  for (int r = 0; r < plan.world_size(); ++r) {
    std::vector<double> rank_sum(static_cast<size_t>(numel), 0.0);
    for (const Block& b : plan.blocks_for_rank(r)) {
      for (int64_t j = 0; j < numel; ++j) rank_sum[static_cast<size_t>(j)] += partial_value(b.index, j);
    }
    for (int64_t j = 0; j < numel; ++j) sum[static_cast<size_t>(j)] += rank_sum[static_cast<size_t>(j)];
  }
  return sum;
}

}  // namespace switchdiff::dist::test
