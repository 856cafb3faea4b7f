// NCCL backend (label gpu): skipped unless the build has NCCL and every rank sees its own CUDA device.
// Sums of CPU tensors staged through the GPU, and the ordered block sum, must be exact / bitwise equal to
// the block-order fold, as on the MPI backend.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstring>

#include "block_partials.h"
#include "dist/communicator.h"
#include "dist/mpi_session.h"
#include "dist/ordered_sum.h"

namespace switchdiff::dist {
namespace {

class NcclCommunicatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!built_with_nccl()) GTEST_SKIP() << "built without NCCL";
    // NCCL refuses two ranks on one GPU; every rank of one node sees the same count, so all skip together.
    if (visible_cuda_devices() < MpiSession::world_size()) GTEST_SKIP() << "needs one CUDA device per rank";
    comm_ = make_communicator("nccl");
  }
  std::unique_ptr<Communicator> comm_;
};

TEST_F(NcclCommunicatorTest, SumsAreExactForSmallIntegers) {
  ASSERT_EQ(comm_->backend(), "nccl");
  const int w = comm_->size();
  at::Tensor t = (at::arange(1000, at::kDouble) + 1).mul(comm_->rank() + 1);
  comm_->all_reduce_sum(t);
  EXPECT_TRUE(at::equal(t, (at::arange(1000, at::kDouble) + 1).mul(w * (w + 1) / 2.0)));
  EXPECT_TRUE(comm_->any(comm_->rank() == w - 1));
  std::string text = comm_->rank() == 0 ? "config" : "";
  comm_->broadcast(text);
  EXPECT_EQ(text, "config");
}

TEST_F(NcclCommunicatorTest, OrderedBlockSumIsBitwiseTheBlockOrderFold) {
  const ShardPlan plan(1000, 37, comm_->size());
  const std::vector<int64_t> shape = {5, 3};
  const at::Tensor sum = ordered_block_sum(*comm_, plan, test::partials_for_rank(plan, comm_->rank(), shape), shape);
  const std::vector<double> oracle = test::left_fold(plan.num_blocks(), 15);
  EXPECT_EQ(std::memcmp(sum.contiguous().data_ptr<double>(), oracle.data(), 15 * sizeof(double)), 0);
}

}  // namespace
}  // namespace switchdiff::dist
