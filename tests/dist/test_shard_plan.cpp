// ShardPlan (docs/design.md): every index exactly once, fixed global blocks dealt round-robin, blocks independent of
// the rank count.
#include <gtest/gtest.h>

#include <limits>
#include <vector>

#include "core/error.h"
#include "dist/shard_plan.h"

namespace switchdiff::dist {
namespace {

TEST(ShardPlan, CoversEveryIndexExactlyOnceForManySizes) {
  for (int64_t n = 0; n <= 61; ++n) {
    for (int64_t block = 1; block <= 9; ++block) {
      for (int w = 1; w <= 8; ++w) {
        const ShardPlan plan(n, block, w);
        ASSERT_EQ(plan.num_blocks(), (n + block - 1) / block);
        std::vector<int> hits(static_cast<size_t>(n), 0);
        int64_t total = 0;
        for (int r = 0; r < w; ++r) {
          int64_t previous_end = -1;
          int64_t rank_items = 0;
          for (const Block& b : plan.blocks_for_rank(r)) {
            ASSERT_EQ(plan.owner(b.index), r);
            ASSERT_EQ(b.index % w, r) << "round-robin dealing";
            ASSERT_GE(b.begin, previous_end) << "ascending, disjoint";
            ASSERT_LT(b.begin, b.end);
            previous_end = b.end;
            for (int64_t i = b.begin; i < b.end; ++i) ++hits[static_cast<size_t>(i)];
            rank_items += b.size();
          }
          ASSERT_EQ(rank_items, plan.num_items_for_rank(r));
          total += rank_items;
        }
        ASSERT_EQ(total, n);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)], 1) << "n=" << n << " i=" << i;
      }
    }
  }
}

TEST(ShardPlan, BlockContentDoesNotDependOnRankCount) {
  const ShardPlan one(1000, 64, 1);
  for (int w : {2, 3, 7, 16, 100}) {
    const ShardPlan many(1000, 64, w);
    ASSERT_EQ(many.num_blocks(), one.num_blocks());
    for (int64_t b = 0; b < one.num_blocks(); ++b) EXPECT_EQ(many.block(b), one.block(b));
  }
  EXPECT_EQ(one.block(15).begin, 960);
  EXPECT_EQ(one.block(15).end, 1000);  // the last block is short
}

TEST(ShardPlan, MoreRanksThanBlocksLeavesSomeRanksIdle) {
  const ShardPlan plan(5, 2, 4);  // blocks [0,2) [2,4) [4,5)
  EXPECT_EQ(plan.blocks_for_rank(3).size(), 0u);
  EXPECT_EQ(plan.num_items_for_rank(2), 1);
}

TEST(ShardPlan, RejectsBadArguments) {
  EXPECT_THROW(ShardPlan(-1, 4, 1), ConfigError);
  EXPECT_THROW(ShardPlan(10, 0, 1), ConfigError);
  EXPECT_THROW(ShardPlan(10, 4, 0), ConfigError);
  const ShardPlan plan(10, 4, 2);
  EXPECT_THROW(plan.block(3), ConfigError);
  EXPECT_THROW(plan.block(-1), ConfigError);
  EXPECT_THROW(plan.blocks_for_rank(2), ConfigError);
  EXPECT_THROW(plan.owner(3), ConfigError);
}

// Block arithmetic near 2^63 must not overflow (UB): N = INT64_MAX items, blocks of 64 and of N.
TEST(ShardPlan, SizesNearTheInt64MaximumDoNotOverflow) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const ShardPlan plan(kMax, 64, 3);
  EXPECT_EQ(plan.num_blocks(), kMax / 64 + 1);
  const Block last = plan.block(plan.num_blocks() - 1);
  EXPECT_EQ(last.end, kMax);
  EXPECT_EQ(last.size(), kMax % 64);
  const ShardPlan one_block(kMax, kMax, 2);
  EXPECT_EQ(one_block.num_blocks(), 1);
  EXPECT_EQ(one_block.block(0).end, kMax);
  EXPECT_EQ(one_block.blocks_for_rank(0).size(), 1u);
  EXPECT_TRUE(one_block.blocks_for_rank(1).empty());
  const ShardPlan wide(kMax - 1, kMax / 2, 2);
  EXPECT_EQ(wide.num_blocks(), 2);
  EXPECT_EQ(wide.blocks_for_rank(1).at(0).end, kMax - 1);
}

}  // namespace
}  // namespace switchdiff::dist
