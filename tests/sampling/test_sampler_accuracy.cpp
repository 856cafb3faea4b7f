// The EDM sampler against analytic truth: with the exact mixture denoiser its samples follow the
// mixture (moments within sampling error), and Heun converges at second order.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <iostream>

#include "core/error.h"
#include "core/seeded_noise.h"
#include "experts/gmm_helpers.h"
#include "sampling/edm_sampler.h"
#include "sampling/sample_batch.h"
#include "sampling/sigma_schedule.h"

namespace switchdiff {
namespace {

using sampling::SamplerOptions;

at::Tensor sample_many(const experts::Denoiser& d, int64_t n, const SamplerOptions& o, int64_t batch = 2000) {
  std::vector<at::Tensor> parts;
  for (int64_t start = 0; start < n; start += batch) {
    parts.push_back(sampling::sample_seeds(d, core::consecutive_seeds(start, std::min(batch, n - start)), o)
                        .final_state.reshape({-1, d.image_shape().dims()}));
  }
  return at::cat(parts);
}

void expect_mixture_moments(const experts::GaussianMixtureExpert& gmm, const at::Tensor& y) {
  const int64_t n = y.size(0);
  const at::Tensor mean = y.mean(0);
  const at::Tensor centred = y - mean;
  const at::Tensor cov = at::matmul(centred.t(), centred) / (n - 1);
  const at::Tensor true_mean = gmm.mean();
  const at::Tensor true_cov = gmm.covariance();
  // Standard errors: mean_i ~ sqrt(S_ii/n); cov_ij ~ sqrt((S_ii S_jj + S_ij^2)/n) (Gaussian fourth
  // moments; the mixture's are close) -> 5 standard errors, entry-wise.
  const at::Tensor se_mean = (true_cov.diag() / n).sqrt();
  const at::Tensor var = true_cov.diag();
  const at::Tensor se_cov = ((at::outer(var, var) + true_cov * true_cov) / n).sqrt();
  const double worst_mean = ((mean - true_mean).abs() / se_mean).max().item<double>();
  const double worst_cov = ((cov - true_cov).abs() / se_cov).max().item<double>();
  std::cout << "worst mean error " << worst_mean << " SE, worst covariance error " << worst_cov << " SE\n";
  EXPECT_LT(worst_mean, 5.0) << "mean off by " << worst_mean << " standard errors";
  EXPECT_LT(worst_cov, 5.0) << "covariance off by " << worst_cov << " standard errors";
  // And the test has teeth: a 5% shrink of the samples is detected.
  const at::Tensor shrunk = 0.95 * y;
  const at::Tensor c2 = at::matmul((shrunk - shrunk.mean(0)).t(), shrunk - shrunk.mean(0)) / (n - 1);
  EXPECT_GT(((c2 - true_cov).abs() / se_cov).max().item<double>(), 5.0);
}

TEST(SamplerAccuracy, ReproducesTwoDimensionalMixture) {
  auto gmm = testing::random_mixture({1, 1, 2}, 3, 21, /*spread=*/1.0, /*floor=*/0.02);
  SamplerOptions o;
  o.schedule.num_steps = 32;
  expect_mixture_moments(*gmm, sample_many(*gmm, 20000, o));
}

TEST(SamplerAccuracy, ReproducesSixteenDimensionalMixture) {
  auto gmm = testing::random_mixture({1, 4, 4}, 4, 22, /*spread=*/0.7, /*floor=*/0.02);
  SamplerOptions o;
  o.schedule.num_steps = 32;
  expect_mixture_moments(*gmm, sample_many(*gmm, 20000, o));
}

TEST(SamplerAccuracy, StochasticChurnAlsoReproducesTheMixture) {
  auto gmm = testing::random_mixture({1, 1, 2}, 3, 23, 1.0, 0.02);
  SamplerOptions o;
  o.schedule.num_steps = 32;
  o.churn = 20;
  o.s_min = 0.01;
  o.s_max = 10;
  expect_mixture_moments(*gmm, sample_many(*gmm, 20000, o));
}

// Error of the final state against a fine-step float64 reference from the same latents.
double heun_error(const experts::Denoiser& d, const at::Tensor& latents, int steps, const at::Tensor& reference,
                  sampling::Solver solver = sampling::Solver::kHeun) {
  SamplerOptions o;
  o.solver = solver;
  o.schedule.num_steps = steps;
  core::SeededNoise unused({});
  return (sampling::sample_edm(d, latents, o, unused) - reference).abs().max().item<double>();
}

TEST(SamplerAccuracy, HeunIsSecondOrderEulerFirstOrder) {
  auto gmm = testing::random_mixture({1, 1, 4}, 2, 31, 0.5, 0.05);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(4);
  const at::Tensor latents = at::randn({64, 1, 1, 4}, gen, at::kDouble);
  SamplerOptions fine;
  fine.schedule.num_steps = 2048;
  core::SeededNoise unused({});
  const at::Tensor reference = sampling::sample_edm(*gmm, latents, fine, unused);
  const double e16 = heun_error(*gmm, latents, 16, reference);
  const double e32 = heun_error(*gmm, latents, 32, reference);
  const double e64 = heun_error(*gmm, latents, 64, reference);
  std::cout << "Heun error ratios: e16/e32 = " << e16 / e32 << ", e32/e64 = " << e32 / e64 << "\n";
  EXPECT_GT(e16 / e32, 3.0) << e16 << " " << e32;
  EXPECT_LT(e16 / e32, 5.5) << e16 << " " << e32;
  EXPECT_GT(e32 / e64, 3.0) << e32 << " " << e64;
  EXPECT_LT(e32 / e64, 5.5) << e32 << " " << e64;
  const double euler32 = heun_error(*gmm, latents, 32, reference, sampling::Solver::kEuler);
  const double euler64 = heun_error(*gmm, latents, 64, reference, sampling::Solver::kEuler);
  std::cout << "Euler error ratio e32/e64 = " << euler32 / euler64 << "\n";
  EXPECT_GT(euler32 / euler64, 1.6);
  EXPECT_LT(euler32 / euler64, 2.6);
}

TEST(SigmaSchedule, MatchesEdmFormulaAndEndsAtZero) {
  const auto grid = sampling::edm_sigma_grid({});
  ASSERT_EQ(grid.size(), 19u);
  EXPECT_DOUBLE_EQ(grid.front(), 80.0);
  EXPECT_NEAR(grid[17], 0.002, 1e-15);
  EXPECT_EQ(grid.back(), 0.0);
  // sigma_9 of the default grid, from the closed form evaluated independently.
  const double expected =
      std::pow(std::pow(80.0, 1 / 7.0) + 9.0 / 17.0 * (std::pow(0.002, 1 / 7.0) - std::pow(80.0, 1 / 7.0)), 7.0);
  EXPECT_DOUBLE_EQ(grid[9], expected);
  for (size_t i = 1; i < grid.size(); ++i) EXPECT_LT(grid[i], grid[i - 1]);
  EXPECT_THROW(sampling::edm_sigma_grid({0, 7, 0.002, 80}), ConfigError);
  EXPECT_THROW(sampling::edm_sigma_grid({18, 7, 80, 0.002}), ConfigError);
}

}  // namespace
}  // namespace switchdiff
