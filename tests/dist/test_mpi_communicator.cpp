// MPI backend under mpirun with 1, 2 and 3 ranks (tests/dist/CMakeLists.txt: MPI_RANKS). Expected sums use small
// integers, so they are exact (docs/style.md). Every rank runs every test; mpi_gtest_main fails the job if
// any rank fails.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <string>

#include "core/error.h"
#include "dist/communicator.h"
#include "dist/mpi_communicator.h"
#include "dist/mpi_session.h"

namespace switchdiff::dist {
namespace {

int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}
int world_size() {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

TEST(MpiCommunicator, RankSizeAndLocalRankMatchMpi) {
  const MpiCommunicator comm;
  EXPECT_EQ(comm.rank(), world_rank());
  EXPECT_EQ(comm.size(), world_size());
  EXPECT_EQ(comm.local_rank(), world_rank()) << "one node: local rank = rank";
  EXPECT_EQ(comm.is_root(), world_rank() == 0);
  comm.barrier();
}

TEST(MpiCommunicator, AllReduceSumIsExactForSmallIntegers) {
  const MpiCommunicator comm;
  const int r = comm.rank();
  const int w = comm.size();
  // Element j on rank r: (r + 1) * (j + 1). Sum over ranks: (j + 1) * w (w + 1) / 2.
  at::Tensor t = (at::arange(12, at::kDouble) + 1).mul(r + 1).reshape({3, 4});
  comm.all_reduce_sum(t);
  const at::Tensor expected = (at::arange(12, at::kDouble) + 1).mul(w * (w + 1) / 2.0).reshape({3, 4});
  EXPECT_TRUE(at::equal(t, expected)) << t;

  // Non-contiguous view: reduced through a copy and written back into the view.
  at::Tensor base = at::zeros({4, 3}, at::kDouble);
  at::Tensor view = base.t();
  view.fill_(r + 1);
  comm.all_reduce_sum(view);
  EXPECT_TRUE(at::equal(base, at::full({4, 3}, w * (w + 1) / 2.0, at::kDouble)));
}

TEST(MpiCommunicator, AllReduceSumRejectsWrongDtypeAndMismatchedShapesOnEveryRank) {
  const MpiCommunicator comm;
  at::Tensor single = at::ones({4}, at::kFloat);
  EXPECT_THROW(comm.all_reduce_sum(single), CommError);
  at::Tensor ragged = at::ones({3 + (comm.rank() == 0 && comm.size() > 1 ? 1 : 0)}, at::kDouble);
  if (comm.size() > 1) {
    EXPECT_THROW(comm.all_reduce_sum(ragged), CommError) << "every rank learns of the mismatch";
  }
  comm.barrier();  // still in step after the failure
}

TEST(MpiCommunicator, AllGatherConcatenatesInRankOrder) {
  const MpiCommunicator comm;
  const int w = comm.size();
  const at::Tensor local = at::arange(3, at::kLong) + 10 * comm.rank();
  const at::Tensor gathered = comm.all_gather(local);
  ASSERT_EQ(gathered.numel(), 3 * w);
  for (int r = 0; r < w; ++r) {
    for (int i = 0; i < 3; ++i) EXPECT_EQ(gathered[3 * r + i].item<int64_t>(), 10 * r + i);
  }
  const at::Tensor bytes = comm.all_gather(at::full({2}, comm.rank() + 1, at::kByte));
  EXPECT_EQ(bytes.scalar_type(), at::kByte);
  EXPECT_EQ(bytes.sum().item<int64_t>(), w * (w + 1));
  const at::Tensor doubles = comm.all_gather(at::full({1}, 0.5 + comm.rank(), at::kDouble));
  for (int r = 0; r < w; ++r) EXPECT_EQ(doubles[r].item<double>(), 0.5 + r);
  if (w > 1) {
    EXPECT_THROW(comm.all_gather(at::zeros({1 + comm.rank()}, at::kDouble)), CommError) << "unequal lengths";
  }
}

TEST(MpiCommunicator, BroadcastsTensorsAndTextFromRankZero) {
  const MpiCommunicator comm;
  at::Tensor t = comm.rank() == 0 ? at::arange(5, at::kDouble) * 1.25 : at::zeros({5}, at::kDouble);
  comm.broadcast(t);
  EXPECT_TRUE(at::equal(t, at::arange(5, at::kDouble) * 1.25));
  std::string text = comm.rank() == 0 ? std::string("[sampler]\nsteps = 18\n\xe2\x98\x83") : std::string("other");
  comm.broadcast(text);
  EXPECT_EQ(text, "[sampler]\nsteps = 18\n\xe2\x98\x83");
  std::string empty = comm.rank() == 0 ? "" : "stale";
  comm.broadcast(empty);
  EXPECT_EQ(empty, "");
}

TEST(MpiCommunicator, FlagsTellWhetherAnyOrAllRanksAgree) {
  const MpiCommunicator comm;
  const int last = comm.size() - 1;
  EXPECT_TRUE(comm.any(comm.rank() == last)) << "one rank asks to stop: all learn it";
  EXPECT_EQ(comm.all(comm.rank() == 0), comm.size() == 1);
  EXPECT_EQ(comm.all_reduce_flag(comm.rank() * 3, FlagReduction::kMax), 3 * last);
  EXPECT_EQ(comm.all_reduce_flag(comm.rank() * 3 + 1, FlagReduction::kMin), 1);
}

TEST(MakeCommunicator, AutoPicksMpiUnderMpirun) {
  const auto comm = make_communicator("auto");
  const std::string expected = built_with_nccl() && visible_cuda_devices() > 0 ? "nccl" : "mpi";
  EXPECT_EQ(comm->backend(), expected);
  EXPECT_TRUE(launched_by_mpi());
  EXPECT_EQ(comm->size(), world_size());
}

TEST(MpiSession, AdoptsAnInitializedMpiWithoutFinalizingIt) {
  { const MpiSession session(nullptr, nullptr); }
  EXPECT_TRUE(MpiSession::active());
  EXPECT_EQ(MpiSession::world_rank(), world_rank());
  EXPECT_EQ(MpiSession::world_size(), world_size());
}

}  // namespace
}  // namespace switchdiff::dist
