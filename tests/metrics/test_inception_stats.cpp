// InceptionStats: streaming in any batch size and merging partial statistics give the one-pass mu and
// Sigma (to float64 rounding); values match a two-pass float64 computation; exact small-integer sums.
#include "metrics/inception_stats.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "metrics/feature_samples.h"

namespace switchdiff::metrics {
namespace {

double relative_difference(const at::Tensor& got, const at::Tensor& expected) {
  return (got - expected).abs().max().item<double>() / expected.abs().max().item<double>();
}

InceptionStats stream(const at::Tensor& features, int64_t batch_size) {
  InceptionStats stats(features.size(1));
  for (int64_t start = 0; start < features.size(0); start += batch_size) {
    stats.add(features.narrow(0, start, std::min(batch_size, features.size(0) - start)));
  }
  return stats;
}

TEST(InceptionStats, BatchSizesAndMergingAgreeWithOnePass) {
  // float32 features, as an extractor returns them, accumulated in float64.
  const at::Tensor features = testing::synthetic_features(1000, 64, 3, 2.0).to(at::kFloat);
  const InceptionStats one_pass = stream(features, 1000);
  for (int64_t batch : {1, 7, 64}) {
    const InceptionStats streamed = stream(features, batch);
    EXPECT_EQ(streamed.count(), 1000);
    const double mean_diff = relative_difference(streamed.mean(), one_pass.mean());
    const double cov_diff = relative_difference(streamed.covariance(), one_pass.covariance());
    EXPECT_LT(mean_diff, 1e-12) << "batch " << batch;
    EXPECT_LT(cov_diff, 1e-12) << "batch " << batch;
    std::cout << fmt::format("[stats] batch {}: max rel. diff vs one pass: mu {:.1e}, Sigma {:.1e}\n", batch, mean_diff,
                             cov_diff);
  }
  // Three "ranks" with unequal shards, merged by summation (operator+= and merge()).
  InceptionStats merged = stream(features.narrow(0, 0, 333), 7);
  merged += stream(features.narrow(0, 333, 500), 64);
  merged.merge(stream(features.narrow(0, 833, 167), 1));
  EXPECT_EQ(merged.count(), 1000);
  EXPECT_LT(relative_difference(merged.mean(), one_pass.mean()), 1e-12);
  EXPECT_LT(relative_difference(merged.covariance(), one_pass.covariance()), 1e-12);
}

TEST(InceptionStats, MatchesTwoPassFloat64) {
  const at::Tensor x = testing::synthetic_features(500, 32, 4, 3.0);
  const InceptionStats stats = stream(x, 64);
  const at::Tensor mu = x.mean(0);
  const at::Tensor centred = x - mu;
  const at::Tensor sigma = at::matmul(centred.t(), centred) / 499.0;
  EXPECT_LT(relative_difference(stats.mean(), mu), 1e-13);
  EXPECT_LT(relative_difference(stats.covariance(), sigma), 1e-12);
  const at::Tensor cov = stats.covariance();
  EXPECT_TRUE(at::equal(cov, cov.t()));  // exactly symmetric
  EXPECT_EQ(cov.scalar_type(), at::kDouble);
}

// Small integers: every sum is exact, so mu and Sigma are known exactly.
TEST(InceptionStats, ExactOnSmallIntegers) {
  const auto options = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor x = at::tensor({0.0, 1.0, 2.0, 3.0, 4.0, 8.0}, options).reshape({3, 2});  // rows (0,1) (2,3) (4,8)
  InceptionStats stats(2);
  stats.add(x.narrow(0, 0, 1));
  stats.add(x.narrow(0, 1, 2));
  EXPECT_EQ(stats.count(), 3);
  EXPECT_TRUE(at::equal(stats.sum(), at::tensor({6.0, 12.0}, options)));
  EXPECT_TRUE(at::equal(stats.sum_outer(), at::tensor({20.0, 38.0, 38.0, 74.0}, options).reshape({2, 2})));
  EXPECT_TRUE(at::equal(stats.mean(), at::tensor({2.0, 4.0}, options)));
  // Sigma = (S - n mu mu^T) / (n - 1) = ([[20, 38], [38, 74]] - 3 [[4, 8], [8, 16]]) / 2.
  EXPECT_TRUE(at::allclose(stats.covariance(), at::tensor({4.0, 7.0, 7.0, 13.0}, options).reshape({2, 2}), 0, 1e-14));
}

TEST(InceptionStats, RawSumsRoundTripAndShareStorage) {
  const at::Tensor x = testing::synthetic_features(50, 8, 9);
  const InceptionStats stats = stream(x, 7);
  const InceptionStats rebuilt = InceptionStats::from_sums(stats.count(), stats.sum(), stats.sum_outer());
  EXPECT_TRUE(at::equal(rebuilt.covariance(), stats.covariance()));
  // An in-place "all-reduce" on the exposed tensors (here: doubling, as two identical ranks) updates the object.
  InceptionStats doubled = stream(x, 7);
  at::Tensor sum = doubled.sum();
  sum.mul_(2.0);
  at::Tensor outer = doubled.sum_outer();
  outer.mul_(2.0);
  doubled.set_count(2 * doubled.count());
  InceptionStats twice = stream(x, 7);
  twice += stream(x, 7);
  EXPECT_TRUE(at::equal(doubled.sum(), twice.sum()));
  EXPECT_TRUE(at::allclose(doubled.covariance(), twice.covariance(), 0, 1e-14));
  // from_sums copies: the source is not aliased.
  const InceptionStats copy = InceptionStats::from_sums(stats.count(), stats.sum(), stats.sum_outer());
  EXPECT_NE(copy.sum().data_ptr(), stats.sum().data_ptr());
}

TEST(InceptionStats, CopiesAreIndependent) {
  const auto options = at::TensorOptions().dtype(at::kDouble);
  InceptionStats original(2);
  original.add(at::ones({3, 2}, options));
  InceptionStats copy = original;
  copy.add(at::ones({1, 2}, options));
  InceptionStats assigned(2);
  assigned = original;
  assigned.add(at::ones({2, 2}, options));
  EXPECT_EQ(original.count(), 3);
  EXPECT_TRUE(at::equal(original.sum(), at::full({2}, 3.0, options)));
  EXPECT_TRUE(at::equal(copy.sum(), at::full({2}, 4.0, options)));
  EXPECT_TRUE(at::equal(assigned.sum_outer(), at::full({2, 2}, 5.0, options)));
}

TEST(InceptionStats, RejectsBadInput) {
  const auto options = at::TensorOptions().dtype(at::kDouble);
  InceptionStats stats(4);
  EXPECT_THROW(stats.add(at::zeros({2, 5}, options)), InputError);
  EXPECT_THROW(stats.add(at::zeros({4}, options)), InputError);
  EXPECT_THROW(stats.add(at::zeros({2, 4}, at::kLong)), InputError);
  at::Tensor bad = at::zeros({3, 4}, options);
  bad[1][2] = NAN;
  EXPECT_THROW(stats.add(bad), InputError);
  EXPECT_EQ(stats.count(), 0);  // a rejected batch leaves the sums untouched
  EXPECT_TRUE(at::equal(stats.sum(), at::zeros({4}, options)));
  stats.add(at::zeros({0, 4}, options));  // empty batch: no-op
  EXPECT_THROW(stats.mean(), InputError);
  stats.add(at::ones({1, 4}, options));
  try {
    stats.covariance();
    ADD_FAILURE() << "covariance of n = 1 accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("at least 2 samples, got n = 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(InceptionStats(0), InputError);
  EXPECT_THROW(stats += InceptionStats(5), InputError);
  EXPECT_THROW(InceptionStats::from_sums(-1, at::zeros({4}, options), at::zeros({4, 4}, options)), InputError);
  EXPECT_THROW(InceptionStats::from_sums(3, at::zeros({4}, options), at::zeros({4, 3}, options)), InputError);
  EXPECT_THROW(InceptionStats::from_sums(3, at::full({4}, INFINITY, options), at::zeros({4, 4}, options)), InputError);
}

}  // namespace
}  // namespace switchdiff::metrics
