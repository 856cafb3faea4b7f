#pragma once
// Rank-count independent reductions over a ShardPlan (docs/style.md#determinism: bitwise equal where that is cheap).
//
// Floating-point addition is not associative, so summing each rank's partial and then the ranks' sums
// would change the last bits with W. Instead every block's partial travels in its own slot of a
// [blocks, ...] float64 buffer that is zero except where the owning rank wrote it; the all-reduce over that
// buffer is exact (x + 0 = x), and every rank then adds the slots in block order, left to right. The result
// depends only on the per-block partials, hence only on N and block_size: bitwise identical for any W and
// on every rank.
//
// Cost: one float64 slot per block crosses the network. For big slots (e.g. a 2048x2048 covariance sum,
// 32 MiB) choose blocks so that num_blocks stays in the hundreds; rounds are capped at max_bytes_per_round.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>

#include "dist/communicator.h"
#include "dist/shard_plan.h"

namespace switchdiff::dist {

constexpr int64_t kDefaultMaxBytesPerRound = int64_t{64} << 20;

// Collective. partials: this rank's per-block sums keyed by global block index, exactly the blocks of
// plan.blocks_for_rank(comm.rank()); each a float64 CPU tensor of shape `shape`. plan.world_size() must equal
// comm.size(). Returns on every rank: sum_{b = 0}^{num_blocks - 1} partial_b accumulated in block order
// (float64, CPU, `shape`; zeros when there are no blocks). Mismatches throw CommError naming the block.
at::Tensor ordered_block_sum(const Communicator& comm, const ShardPlan& plan,
                             const std::map<int64_t, at::Tensor>& partials, at::IntArrayRef shape,
                             int64_t max_bytes_per_round = kDefaultMaxBytesPerRound);

// Collective. local: this rank's per-item values [plan.num_items_for_rank(rank), row...] in ascending item
// order (its blocks concatenated), float64 CPU. Returns [num_items, row...] on every rank, item i's value
// at row i, exactly as computed by its owner (each slot has one contributor, so the sum is exact).
at::Tensor assemble_items(const Communicator& comm, const ShardPlan& plan, const at::Tensor& local);

}  // namespace switchdiff::dist
