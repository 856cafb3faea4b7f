// KID vs numpy: the unbiased polynomial-kernel MMD^2 on given sets, and the subset average with the same
// subsets (the reference draws them with torch.randperm on an identically seeded CPU generator).
#include "metrics/kid.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "common/test_support.h"
#include "core/error.h"
#include "metrics/feature_samples.h"
#include "metrics/python_reference.h"

namespace switchdiff::metrics {
namespace {

TEST(Kid, Mmd2MatchesNumpy) {
  const std::string scratch = testing::scratch_dir();
  const at::Tensor x = testing::synthetic_features(50, 16, 31);
  const at::Tensor y = testing::synthetic_features(70, 16, 32, 1.3);  // different sizes
  testing::write_npy(scratch + "/x.npy", x);
  testing::write_npy(scratch + "/y.npy", y);
  const auto expected = testing::run_reference(scratch, "mmd2", {scratch + "/x.npy", scratch + "/y.npy"});
  ASSERT_EQ(expected.size(), 1u);
  const double ours = polynomial_mmd2_unbiased(x, y);
  EXPECT_NEAR(ours, expected[0], 1e-10 * std::abs(expected[0]));
  EXPECT_GT(ours, 0.0);
}

TEST(Kid, SubsetAverageMatchesNumpyWithSameSubsets) {
  const std::string scratch = testing::scratch_dir();
  const at::Tensor a = testing::synthetic_features(300, 32, 41);
  const at::Tensor b = testing::synthetic_features(250, 32, 42, 1.2);
  testing::write_npy(scratch + "/a.npy", a);
  testing::write_npy(scratch + "/b.npy", b);
  const KidOptions options{20, 100, 1234};
  const auto expected = testing::run_reference(scratch, "kid", {scratch + "/a.npy", scratch + "/b.npy"},
                                               "--subsets 20 --max-subset-size 100 --seed 1234");
  ASSERT_EQ(expected.size(), 2u);
  const KernelInceptionDistance ours = kernel_inception_distance(a, b, options);
  EXPECT_EQ(ours.subset_size, 100);
  EXPECT_NEAR(ours.mean, expected[0], 1e-10 * std::abs(expected[0]));
  EXPECT_NEAR(ours.std, expected[1], 1e-8 * std::abs(expected[1]));
  std::cout << fmt::format("[kid] ours {:.12g} +- {:.4g}, numpy {:.12g} +- {:.4g}\n", ours.mean, ours.std, expected[0],
                           expected[1]);
  // Same seed, same KID; another seed, other subsets.
  EXPECT_EQ(kernel_inception_distance(a, b, options).mean, ours.mean);
  EXPECT_NE(kernel_inception_distance(a, b, {20, 100, 99}).mean, ours.mean);
}

TEST(Kid, WholeSetSubsetsGiveTheFullEstimate) {
  const at::Tensor a = testing::synthetic_features(60, 8, 51);
  const at::Tensor b = testing::synthetic_features(60, 8, 52);
  const KernelInceptionDistance kid = kernel_inception_distance(a, b, {5, 1000, 0});
  EXPECT_EQ(kid.subset_size, 60);
  const double full = polynomial_mmd2_unbiased(a, b);
  EXPECT_NEAR(kid.mean, full, 1e-12 * std::abs(full));
  EXPECT_LT(kid.std, 1e-12 * std::abs(full) + 1e-15);
}

TEST(Kid, RejectsBadInput) {
  const auto options = at::TensorOptions().dtype(at::kDouble);
  EXPECT_THROW(polynomial_mmd2_unbiased(at::zeros({1, 4}, options), at::zeros({5, 4}, options)), InputError);
  EXPECT_THROW(polynomial_mmd2_unbiased(at::zeros({5, 4}, options), at::zeros({5, 3}, options)), InputError);
  at::Tensor bad = at::zeros({5, 4}, options);
  bad[0][0] = INFINITY;
  EXPECT_THROW(kernel_inception_distance(bad, at::zeros({5, 4}, options)), InputError);
  EXPECT_THROW(kernel_inception_distance(at::zeros({5, 4}, options), at::zeros({5, 4}, options), {0, 10, 0}),
               InputError);
}

}  // namespace
}  // namespace switchdiff::metrics
