// Serial backend, backend selection without MPI, local rank from the launcher's environment, and the
// ordered sum on one rank (its oracle and argument checks).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "block_partials.h"
#include "core/error.h"
#include "dist/communicator.h"
#include "dist/local_rank.h"
#include "dist/ordered_sum.h"

namespace switchdiff::dist {
namespace {

// Sets environment variables for one test and restores them afterwards.
class ScopedEnv {
 public:
  void set(const char* name, const char* value) {
    remember(name);
    ::setenv(name, value, 1);
  }
  void unset(const char* name) {
    remember(name);
    ::unsetenv(name);
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }

 private:
  void remember(const char* name) {
    for (const auto& entry : saved_) {
      if (entry.first == name) return;
    }
    const char* old = std::getenv(name);
    saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return {};
}

TEST(SerialCommunicator, ReductionsAreIdentitiesAndArgumentsAreChecked) {
  const auto comm = make_communicator("serial");
  EXPECT_EQ(comm->backend(), "serial");
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->size(), 1);
  at::Tensor t = at::arange(6, at::kDouble).reshape({2, 3});
  comm->all_reduce_sum(t);
  EXPECT_TRUE(at::equal(t, at::arange(6, at::kDouble).reshape({2, 3})));
  at::Tensor single = at::ones({3}, at::kFloat);
  EXPECT_THROW(comm->all_reduce_sum(single), CommError) << "sums are float64 on every backend";
  const at::Tensor local = at::arange(4, at::kLong);
  EXPECT_TRUE(at::equal(comm->all_gather(local), local));
  EXPECT_THROW(comm->all_gather(at::zeros({2, 2}, at::kDouble)), CommError) << "1-D only";
  std::string text = "abc";
  comm->broadcast(text);
  EXPECT_EQ(text, "abc");
  EXPECT_EQ(comm->all_reduce_flag(7, FlagReduction::kMax), 7);
  EXPECT_TRUE(comm->any(true));
  EXPECT_FALSE(comm->all(false));
}

TEST(MakeCommunicator, ExplainsUnknownAndUnavailableBackends) {
  EXPECT_NE(message_of<ConfigError>([] { make_communicator("gloo"); }).find("auto, serial, mpi, nccl"),
            std::string::npos);
  // This test binary does not initialize MPI.
  EXPECT_NE(message_of<ConfigError>([] { make_communicator("mpi"); }).find("MPI to be initialized"), std::string::npos);
  const std::string nccl = message_of<ConfigError>([] { make_communicator("nccl"); });
  if (!built_with_nccl()) {
    EXPECT_NE(nccl.find("built without NCCL; rebuild with CUDA toolkit at /usr/local/cuda"), std::string::npos);
  } else if (visible_cuda_devices() == 0) {
    EXPECT_NE(nccl.find("no CUDA device visible"), std::string::npos);
  } else {
    EXPECT_NE(nccl.find("needs MPI"), std::string::npos);
  }
  EXPECT_EQ(make_communicator("auto")->backend(), "serial") << "no MPI session: one process";
}

TEST(LocalRank, ComesFromTheLauncherEnvironment) {
  ScopedEnv env;
  for (const char* name : {"SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "PMI_LOCAL_RANK"}) {
    env.unset(name);
  }
  EXPECT_EQ(local_rank_from_environment(), std::nullopt);
  env.set("OMPI_COMM_WORLD_LOCAL_RANK", "2");
  EXPECT_EQ(local_rank_from_environment(), 2);
  env.set("SLURM_LOCALID", "5");
  EXPECT_EQ(local_rank_from_environment(), 5) << "srun's variable wins";
  env.set("SLURM_LOCALID", "x1");
  EXPECT_NE(message_of<ConfigError>([] { local_rank_from_environment(); }).find("SLURM_LOCALID"), std::string::npos);
}

TEST(OrderedBlockSum, OneRankEqualsTheLeftFoldInBlockOrderBitwise) {
  const auto comm = make_communicator("serial");
  for (int64_t max_bytes : {int64_t{1}, int64_t{200}, kDefaultMaxBytesPerRound}) {  // 1 and 200: many rounds
    const ShardPlan plan(1000, 37, 1);
    const std::vector<int64_t> shape = {3, 4};
    const at::Tensor sum = ordered_block_sum(*comm, plan, test::partials_for_rank(plan, 0, shape), shape, max_bytes);
    ASSERT_EQ(sum.sizes(), at::IntArrayRef(shape));
    const std::vector<double> oracle = test::left_fold(plan.num_blocks(), 12);
    EXPECT_EQ(std::memcmp(sum.data_ptr<double>(), oracle.data(), 12 * sizeof(double)), 0);
  }
}

TEST(OrderedBlockSum, RejectsMissingForeignAndMisshapenPartials) {
  const auto comm = make_communicator("serial");
  const ShardPlan plan(10, 4, 1);
  const std::vector<int64_t> shape = {2};
  auto partials = test::partials_for_rank(plan, 0, shape);
  partials.erase(1);
  EXPECT_NE(message_of<CommError>([&] { ordered_block_sum(*comm, plan, partials, shape); }).find("block 1"),
            std::string::npos);
  partials = test::partials_for_rank(plan, 0, shape);
  partials[3] = at::zeros({2}, at::kDouble);
  EXPECT_THROW(ordered_block_sum(*comm, plan, partials, shape), CommError);
  partials = test::partials_for_rank(plan, 0, shape);
  partials[0] = at::zeros({3}, at::kDouble);
  EXPECT_THROW(ordered_block_sum(*comm, plan, partials, shape), CommError);
  partials[0] = at::zeros({2}, at::kFloat);
  EXPECT_THROW(ordered_block_sum(*comm, plan, partials, shape), CommError);
  EXPECT_THROW(ordered_block_sum(*comm, ShardPlan(10, 4, 2), {}, shape), CommError) << "plan for 2 ranks";
}

TEST(AssembleItems, PlacesEachItemAtItsGlobalIndex) {
  const auto comm = make_communicator("serial");
  const ShardPlan plan(7, 3, 1);
  const at::Tensor local = at::arange(14, at::kDouble).reshape({7, 2});
  EXPECT_TRUE(at::equal(assemble_items(*comm, plan, local), local));
  EXPECT_THROW(assemble_items(*comm, plan, at::zeros({6, 2}, at::kDouble)), CommError);
}

}  // namespace
}  // namespace switchdiff::dist
