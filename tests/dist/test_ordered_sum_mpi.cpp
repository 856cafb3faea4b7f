// ordered_block_sum over 1, 2, 3 (and 8) ranks: the result is bitwise equal to the one-rank left fold in
// block order (a W-independent oracle computed here in plain doubles), on every rank, while the naive
// "per rank, then over ranks" order gives different bits for these inputs.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "block_partials.h"
#include "dist/mpi_communicator.h"
#include "dist/ordered_sum.h"

namespace switchdiff::dist {
namespace {

void expect_bitwise(const at::Tensor& sum, const std::vector<double>& oracle) {
  ASSERT_EQ(sum.numel(), static_cast<int64_t>(oracle.size()));
  const at::Tensor contiguous = sum.contiguous();
  EXPECT_EQ(std::memcmp(contiguous.data_ptr<double>(), oracle.data(), oracle.size() * sizeof(double)), 0);
}

TEST(OrderedBlockSumMpi, BitwiseEqualToTheBlockOrderFoldForAnyRankCount) {
  const MpiCommunicator comm;
  for (const auto& [items, block] : std::vector<std::pair<int64_t, int64_t>>{{1000, 37}, {64, 64}, {5, 2}, {0, 4}}) {
    const ShardPlan plan(items, block, comm.size());
    const std::vector<int64_t> shape = {5, 3};
    for (int64_t max_bytes : {int64_t{240}, kDefaultMaxBytesPerRound}) {  // 240 B: two blocks per round
      const at::Tensor sum =
          ordered_block_sum(comm, plan, test::partials_for_rank(plan, comm.rank(), shape), shape, max_bytes);
      expect_bitwise(sum, test::left_fold(plan.num_blocks(), 15));
      // Same bits on every rank.
      const at::Tensor all = comm.all_gather(sum.reshape({15}));
      for (int r = 1; r < comm.size(); ++r) EXPECT_TRUE(at::equal(all.narrow(0, 15 * r, 15), all.narrow(0, 0, 15)));
    }
  }
}

TEST(OrderedBlockSumMpi, TheDataWouldExposeARankDependentOrder) {
  // Guards the test above: with these partials the naive order differs from the block-order fold for W > 1.
  const MpiCommunicator comm;
  if (comm.size() == 1) GTEST_SKIP() << "one rank: both orders coincide";
  const ShardPlan plan(1000, 37, comm.size());
  const std::vector<double> ordered = test::left_fold(plan.num_blocks(), 15);
  const std::vector<double> naive = test::per_rank_then_ranks(plan, 15);
  EXPECT_NE(std::memcmp(ordered.data(), naive.data(), 15 * sizeof(double)), 0);
}

TEST(AssembleItemsMpi, EveryRankGetsEveryItemExactly) {
  const MpiCommunicator comm;
  const ShardPlan plan(23, 4, comm.size());
  std::vector<double> local_values;
  for (const Block& b : plan.blocks_for_rank(comm.rank())) {
    for (int64_t i = b.begin; i < b.end; ++i) local_values.push_back(test::partial_value(i, 1));
  }
  const at::Tensor local =
      at::from_blob(local_values.data(), {static_cast<int64_t>(local_values.size())}, at::kDouble).clone();
  const at::Tensor all = assemble_items(comm, plan, local);
  ASSERT_EQ(all.numel(), 23);
  for (int64_t i = 0; i < 23; ++i) EXPECT_EQ(all[i].item<double>(), test::partial_value(i, 1)) << i;
}

}  // namespace
}  // namespace switchdiff::dist
