#pragma once
// Work split of N global items (sample seeds, test images) over W ranks (docs/design.md, docs/style.md).
//
// Items are cut into fixed global blocks of `block_size` consecutive indices: block b covers
// [b * block_size, min((b + 1) * block_size, N)). Block b belongs to rank b % W (round-robin). A block's
// content depends only on N and block_size, never on W, so per-block results (and their ordered sum,
// ordered_sum.h) are identical for any rank count. Every index belongs to exactly one block and one rank.
#include <cstdint>
#include <vector>

namespace switchdiff::dist {

struct Block {
  int64_t index = 0;  // global block number
  int64_t begin = 0;  // first item
  int64_t end = 0;    // one past the last item
  int64_t size() const { return end - begin; }
  bool operator==(const Block& other) const { return index == other.index && begin == other.begin && end == other.end; }
};

class ShardPlan {
 public:
  // num_items >= 0, block_size >= 1, world_size >= 1 (ConfigError otherwise).
  ShardPlan(int64_t num_items, int64_t block_size, int world_size);

  int64_t num_items() const { return num_items_; }
  int64_t block_size() const { return block_size_; }
  int world_size() const { return world_size_; }
  int64_t num_blocks() const { return num_blocks_; }

  Block block(int64_t index) const;                    // 0 <= index < num_blocks()
  int owner(int64_t block_index) const;                // rank that computes block `block_index`
  std::vector<Block> blocks_for_rank(int rank) const;  // ascending block order
  int64_t num_items_for_rank(int rank) const;

 private:
  int64_t num_items_;
  int64_t block_size_;
  int world_size_;
  int64_t num_blocks_;
};

}  // namespace switchdiff::dist
