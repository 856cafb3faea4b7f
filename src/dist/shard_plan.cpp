#include "dist/shard_plan.h"

#include <algorithm>

#include "core/error.h"

namespace switchdiff::dist {

ShardPlan::ShardPlan(int64_t num_items, int64_t block_size, int world_size)
    : num_items_(num_items), block_size_(block_size), world_size_(world_size) {
  if (num_items < 0) throw make_error<ConfigError>("ShardPlan: number of items {} is negative", num_items);
  if (block_size < 1) {
    throw make_error<ConfigError>("ShardPlan: block size {} must be at least 1 (e.g. the batch size)", block_size);
  }
  if (world_size < 1) throw make_error<ConfigError>("ShardPlan: world size {} must be at least 1", world_size);
  // Ceiling division without forming num_items + block_size - 1, which overflows int64 near its maximum.
  num_blocks_ = num_items / block_size + (num_items % block_size != 0 ? 1 : 0);
}

Block ShardPlan::block(int64_t index) const {
  if (index < 0 || index >= num_blocks_) {
    throw make_error<ConfigError>("ShardPlan: block {} out of range [0, {})", index, num_blocks_);
  }
  const int64_t begin = index * block_size_;
  // index < num_blocks_ keeps begin < num_items_; the end is clamped without forming begin + block_size_.
  return Block{index, begin, begin + std::min(block_size_, num_items_ - begin)};
}

int ShardPlan::owner(int64_t block_index) const {
  if (block_index < 0 || block_index >= num_blocks_) {
    throw make_error<ConfigError>("ShardPlan: block {} out of range [0, {})", block_index, num_blocks_);
  }
  return static_cast<int>(block_index % world_size_);
}

std::vector<Block> ShardPlan::blocks_for_rank(int rank) const {
  if (rank < 0 || rank >= world_size_) {
    throw make_error<ConfigError>("ShardPlan: rank {} out of range [0, {})", rank, world_size_);
  }
  std::vector<Block> blocks;
  // Stops before b + world_size_ could pass num_blocks_ (and, near 2^63, overflow).
  for (int64_t b = rank; b<num_blocks_; b = num_blocks_ - b> world_size_ ? b + world_size_ : num_blocks_) {
    blocks.push_back(block(b));
  }
  return blocks;
}

int64_t ShardPlan::num_items_for_rank(int rank) const {
  int64_t total = 0;
  for (const Block& b : blocks_for_rank(rank)) total += b.size();
  return total;
}

}  // namespace switchdiff::dist
