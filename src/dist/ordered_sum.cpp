#include "dist/ordered_sum.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

#include "core/error.h"

namespace switchdiff::dist {
namespace {

std::string shape_text(at::IntArrayRef shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

void require_matching_plan(const Communicator& comm, const ShardPlan& plan, const char* operation) {
  if (plan.world_size() != comm.size()) {
    throw make_error<CommError>("{}: the ShardPlan is for {} ranks but the communicator has {}", operation,
                                plan.world_size(), comm.size());
  }
}

}  // namespace

at::Tensor ordered_block_sum(const Communicator& comm, const ShardPlan& plan,
                             const std::map<int64_t, at::Tensor>& partials, at::IntArrayRef shape,
                             int64_t max_bytes_per_round) {
  require_matching_plan(comm, plan, "ordered_block_sum");
  const std::vector<Block> mine = plan.blocks_for_rank(comm.rank());
  for (const auto& [index, partial] : partials) {
    if (index < 0 || index >= plan.num_blocks() || plan.owner(index) != comm.rank()) {
      throw make_error<CommError>("ordered_block_sum: rank {} passed block {}, which is not one of its blocks",
                                  comm.rank(), index);
    }
    if (!partial.defined() || partial.scalar_type() != at::kDouble || !partial.device().is_cpu() ||
        partial.sizes() != shape) {
      throw make_error<CommError>("ordered_block_sum: block {} must be a float64 CPU tensor of shape {}, got {}", index,
                                  shape_text(shape),
                                  partial.defined() ? std::string(c10::toString(partial.scalar_type())) + " " +
                                                          shape_text(partial.sizes()) + " on " + partial.device().str()
                                                    : std::string("undefined"));
    }
  }
  for (const Block& block : mine) {
    if (partials.count(block.index) == 0) {
      throw make_error<CommError>("ordered_block_sum: rank {} has no partial for its block {} (items [{}, {}))",
                                  comm.rank(), block.index, block.begin, block.end);
    }
  }

  int64_t slot_numel = 1;
  for (int64_t extent : shape) slot_numel *= extent;
  const auto options = at::TensorOptions().dtype(at::kDouble);
  at::Tensor total = at::zeros({slot_numel}, options);
  const int64_t slot_bytes = std::max<int64_t>(1, slot_numel * static_cast<int64_t>(sizeof(double)));
  const int64_t blocks_per_round = std::max<int64_t>(1, max_bytes_per_round / slot_bytes);

  for (int64_t first = 0; first < plan.num_blocks(); first += blocks_per_round) {
    const int64_t count = std::min(blocks_per_round, plan.num_blocks() - first);
    at::Tensor slots = at::zeros({count, slot_numel}, options);
    for (int64_t b = first; b < first + count; ++b) {
      const auto found = partials.find(b);
      if (found != partials.end()) slots[b - first].copy_(found->second.reshape({slot_numel}));
    }
    comm.all_reduce_sum(slots);
    // Elementwise adds in block order: total = ((p_0 + p_1) + p_2) + ..., the same on every rank for any W.
    for (int64_t i = 0; i < count; ++i) total.add_(slots[i]);
  }
  return total.reshape(shape);
}

at::Tensor assemble_items(const Communicator& comm, const ShardPlan& plan, const at::Tensor& local) {
  require_matching_plan(comm, plan, "assemble_items");
  const int64_t expected_rows = plan.num_items_for_rank(comm.rank());
  if (!local.defined() || local.scalar_type() != at::kDouble || !local.device().is_cpu() || local.dim() < 1 ||
      local.size(0) != expected_rows) {
    throw make_error<CommError>(
        "assemble_items: rank {} must pass a float64 CPU tensor with {} rows (its items), got {}", comm.rank(),
        expected_rows,
        local.defined() ? std::string(c10::toString(local.scalar_type())) + " " + shape_text(local.sizes())
                        : std::string("undefined"));
  }
  std::vector<int64_t> full_shape(local.sizes().begin(), local.sizes().end());
  full_shape[0] = plan.num_items();
  at::Tensor full = at::zeros(full_shape, local.options());
  int64_t row = 0;
  for (const Block& block : plan.blocks_for_rank(comm.rank())) {
    full.narrow(0, block.begin, block.size()).copy_(local.narrow(0, row, block.size()));
    row += block.size();
  }
  comm.all_reduce_sum(full);
  return full;
}

}  // namespace switchdiff::dist
