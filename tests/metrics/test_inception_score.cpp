// Inception Score vs the openai/improved-gan formula in numpy; known values; streaming and merging.
#include "metrics/inception_score.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>

#include "common/test_support.h"
#include "core/error.h"
#include "metrics/python_reference.h"

namespace switchdiff::metrics {
namespace {

at::Tensor random_logits(int64_t n, int64_t k, uint64_t seed) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto options = at::TensorOptions().dtype(at::kDouble);
  // Confident but varied predictions, with a class imbalance so p(y) is not uniform.
  return at::randn({n, k}, g, options) * 3.0 + at::linspace(0.0, 2.0, k, options);
}

TEST(InceptionScore, MatchesNumpyReference) {
  const std::string scratch = testing::scratch_dir();
  for (auto [n, k] : {std::pair<int64_t, int64_t>{1003, 10}, {2000, 1008}}) {  // N not divisible by 10, too
    const at::Tensor logits = random_logits(n, k, 12);
    testing::write_npy(scratch + "/logits.npy", logits);
    const auto expected = testing::run_reference(scratch, "is", {scratch + "/logits.npy"});
    ASSERT_EQ(expected.size(), 2u);
    const InceptionScore ours = inception_score(logits);
    EXPECT_NEAR(ours.mean, expected[0], 1e-10 * expected[0]) << "N=" << n << " K=" << k;
    EXPECT_NEAR(ours.std, expected[1], 1e-8 * expected[1]) << "N=" << n << " K=" << k;
    EXPECT_EQ(ours.num_splits, 10);
    std::cout << fmt::format("[is] N={} K={}: ours {:.12g} +- {:.6g}, numpy {:.12g} +- {:.6g}\n", n, k, ours.mean,
                             ours.std, expected[0], expected[1]);
  }
}

TEST(InceptionScore, KnownValues) {
  const auto options = at::TensorOptions().dtype(at::kDouble);
  // Equal logits: p(y|x) = p(y), every KL is 0, IS = 1.
  const InceptionScore uniform = inception_score(at::zeros({100, 7}, options));
  EXPECT_NEAR(uniform.mean, 1.0, 1e-14);
  EXPECT_NEAR(uniform.std, 0.0, 1e-14);
  // One-hot predictions (logit gap 1000: the rest underflow to exactly 0) with every class equally often in
  // each split: KL = log K, IS = K.
  const int64_t k = 10;
  const at::Tensor labels = at::arange(1000, at::kLong).remainder(k);
  const at::Tensor one_hot = at::one_hot(labels, k).to(at::kDouble) * 1000.0;
  const InceptionScore sharp = inception_score(one_hot);
  EXPECT_NEAR(sharp.mean, 10.0, 1e-12);
  EXPECT_NEAR(sharp.std, 0.0, 1e-12);
}

TEST(InceptionScore, StreamingAndMergingMatchOneCall) {
  const int64_t n = 1003;
  const at::Tensor logits = random_logits(n, 20, 13).to(at::kFloat);
  const InceptionScore one_call = inception_score(logits);
  // Two "ranks", batches of 7 dealt round-robin, added out of order; batches straddle split boundaries.
  InceptionScoreAccumulator rank0(n, 20), rank1(n, 20);
  for (int64_t start = 0, batch = 0; start < n; start += 7, ++batch) {
    const int64_t size = std::min<int64_t>(7, n - start);
    (batch % 2 == 0 ? rank0 : rank1).add(logits.narrow(0, start, size), start);
  }
  const InceptionScoreAccumulator rank0_before = rank0;  // a deep copy: unaffected by what follows
  rank1 += rank0;
  rank0.add(logits.narrow(0, 0, 7), 0);  // rank0 now counts samples 0..6 twice; rank1 already holds its sums
  EXPECT_EQ(rank0_before.counts().sum().item<double>() + 7.0, rank0.counts().sum().item<double>());
  const InceptionScore merged = rank1.result();
  EXPECT_NEAR(merged.mean, one_call.mean, 1e-12 * one_call.mean);
  EXPECT_NEAR(merged.std, one_call.std, 1e-9 * one_call.std);
  // The exposed sums rebuild nothing new but must be what an all-reduce sees: per-split counts.
  EXPECT_EQ(rank1.counts().sum().item<double>(), static_cast<double>(n));
}

TEST(InceptionScore, RejectsBadInput) {
  const auto options = at::TensorOptions().dtype(at::kDouble);
  EXPECT_THROW(inception_score(at::zeros({9, 4}, options)), InputError);   // N < 10 splits
  EXPECT_THROW(inception_score(at::zeros({20, 1}, options)), InputError);  // one class
  EXPECT_THROW(inception_score(at::zeros({20}, options)), InputError);
  at::Tensor bad = at::zeros({20, 4}, options);
  bad[3][1] = NAN;
  EXPECT_THROW(inception_score(bad), InputError);
  InceptionScoreAccumulator accumulator(20, 4);
  EXPECT_THROW(accumulator.add(at::zeros({5, 4}, options), 16), InputError);  // indices 16..20 past N
  EXPECT_THROW(accumulator.add(at::zeros({5, 3}, options), 0), InputError);
  accumulator.add(at::zeros({19, 4}, options), 0);
  try {
    accumulator.result();  // sample 19 missing
    ADD_FAILURE() << "incomplete splits accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("split 9 holds 1 samples, expected 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(accumulator += InceptionScoreAccumulator(21, 4), InputError);
}

}  // namespace
}  // namespace switchdiff::metrics
