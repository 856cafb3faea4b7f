// FID standard errors by the delete-a-group jackknife (metrics/fid_jackknife.h), against three truths: the
// textbook identity for the mean, FIDs of the pooled features computed directly, and the spread of FID over
// independent Monte Carlo replicates.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "metrics/fid_jackknife.h"
#include "metrics/frechet_distance.h"

namespace switchdiff::metrics {
namespace {

TEST(FidJackknife, StandardErrorOfTheMeanIsTheTextbookOne) {
  // With one value per group, the leave-one-out means give exactly sd / sqrt(n) (Efron & Tibshirani, eq. 11.5).
  const at::Tensor x = at::randn({50}, at::make_generator<at::CPUGeneratorImpl>(1), at::kDouble);
  const double total = x.sum().item<double>();
  std::vector<double> leave_one_out;
  for (int64_t i = 0; i < 50; ++i) leave_one_out.push_back((total - x[i].item<double>()) / 49.0);
  EXPECT_NEAR(jackknife_stderr(leave_one_out), x.std().item<double>() / std::sqrt(50.0), 1e-12);
  EXPECT_TRUE(std::isnan(jackknife_stderr({1.0})));
}

TEST(FidJackknife, LeaveOneOutValuesAreTheFidsOfThePooledOtherGroups) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(2);
  const int64_t groups = 5, per_group = 40, f = 6;
  const at::Tensor features = at::randn({groups * per_group, f}, gen, at::kDouble) * 1.3 + 0.2;
  const at::Tensor reference = at::randn({500, f}, gen, at::kDouble);
  InceptionStats ref(f);
  ref.add(reference);
  std::vector<InceptionStats> stats;
  for (int64_t g = 0; g < groups; ++g) {
    stats.emplace_back(f);
    stats.back().add(features.slice(0, g * per_group, (g + 1) * per_group));
  }
  const FidJackknife jk = jackknife_fid(stats, ref.mean(), ref.covariance());
  ASSERT_EQ(jk.leave_one_out.size(), static_cast<size_t>(groups));
  for (int64_t g = 0; g < groups; ++g) {
    const at::Tensor rest = at::cat({features.slice(0, 0, g * per_group), features.slice(0, (g + 1) * per_group)});
    InceptionStats direct(f);
    direct.add(rest);
    EXPECT_NEAR(jk.leave_one_out[static_cast<size_t>(g)], frechet_distance(direct, ref), 1e-10) << "group " << g;
  }
  EXPECT_EQ(jk.standard_error, jackknife_stderr(jk.leave_one_out));
  EXPECT_THROW(jackknife_fid({stats.front()}, ref.mean(), ref.covariance()), InputError);
}

TEST(FidJackknife, StandardErrorMatchesTheSpreadOverIndependentReplicates) {
  // Samples N(0.3, 1.5 I) vs an exact reference N(0, I), F = 4, n = 600 in 10 groups. Over 300 independent
  // replicates the jackknife SE must estimate the true standard deviation of FID (ratio within 25%).
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const int64_t f = 4, groups = 10, per_group = 60, replicates = 300;
  const at::Tensor ref_mu = at::zeros({f}, at::kDouble), ref_sigma = at::eye(f, at::kDouble);
  std::vector<double> fids, errors;
  for (int64_t r = 0; r < replicates; ++r) {
    const at::Tensor x = at::randn({groups * per_group, f}, gen, at::kDouble) * std::sqrt(1.5) + 0.3;
    std::vector<InceptionStats> stats;
    InceptionStats all(f);
    for (int64_t g = 0; g < groups; ++g) {
      stats.emplace_back(f);
      stats.back().add(x.slice(0, g * per_group, (g + 1) * per_group));
      all += stats.back();
    }
    fids.push_back(frechet_distance(all.mean(), all.covariance(), ref_mu, ref_sigma));
    errors.push_back(jackknife_fid(stats, ref_mu, ref_sigma).standard_error);
  }
  const at::Tensor fid = at::tensor(fids, at::kDouble), error = at::tensor(errors, at::kDouble);
  const double true_sd = fid.std().item<double>(), mean_se = error.mean().item<double>();
  std::cout << "FID sd over replicates " << true_sd << ", mean jackknife SE " << mean_se << ", ratio "
            << mean_se / true_sd << "\n";
  EXPECT_GT(mean_se / true_sd, 0.75);
  EXPECT_LT(mean_se / true_sd, 1.25);
}

}  // namespace
}  // namespace switchdiff::metrics
