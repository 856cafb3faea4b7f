// Continuous-time ELBO against the exact mixture likelihood and band additivity
// (docs/likelihood.md#elbo-derivation-and-estimator).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>

#include "experts/switched_denoiser.h"
#include "likelihood/elbo.h"
#include "likelihood/likelihood_test_util.h"

namespace switchdiff::likelihood {
namespace {

using testing::make_test_mixture;
using testing::TestMixture;

struct Nodes {
  at::Tensor uniform, normal;
};
Nodes nodes(int64_t n, int64_t m, uint64_t seed) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return {at::rand({n, m}, g, at::kDouble), at::randn({n, m, 1, 2, 2}, g, at::kFloat)};
}

class ElboTest : public ::testing::Test {
 protected:
  void SetUp() override { at::set_num_threads(1); }
};

// With the exact denoiser the ELBO is tight up to the prior mismatch and the decoder's small error, and by
// Gibbs' inequality its mean over data draws is >= the mean exact NLL. A wrong constant (1/2 instead of 1 in front
// of the diffusion integral) would put it ~D/2 ln(sigma_data / sigma_min) nats below.
TEST_F(ElboTest, ElboBoundsAndNearlyEqualsExactNllOfMixture) {
  const TestMixture m = make_test_mixture(1);
  const int64_t n = 512;
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(61);
  const at::Tensor y = m.expert->sample(n, g);
  ElboOptions o;
  const Nodes z = nodes(n, o.samples, 62);
  const ElboTerms elbo = elbo_continuous(*m.expert, y, z.uniform, z.normal, 0.002, 80.0, o);
  const at::Tensor nll = -m.expert->log_density(y, at::zeros({n}, at::kDouble));
  const at::Tensor gap = elbo.total - nll;
  const double mean = gap.mean().item<double>();
  const double se = (gap.std() / std::sqrt(static_cast<double>(n))).item<double>();
  std::printf(
      "-ELBO - exact NLL: mean %.4g nats (%.3g nats/dim), standard error %.3g; per-image MC SE %.3g; "
      "diffusion term %.3g nats; NFE %lld\n",
      mean, mean / 4, se, elbo.diffusion_stderr.mean().item<double>(), elbo.diffusion.mean().item<double>(),
      static_cast<long long>(elbo.nfe[0].item<int64_t>()));
  EXPECT_GT(mean, -3 * se);            // bound (in expectation)
  EXPECT_LT(mean, 3 * se + 4 * 2e-3);  // and tight: within 2e-3 nats/dim beyond the noise
  EXPECT_TRUE(at::all(elbo.nfe == o.samples).item<bool>());
}

// The merged model's diffusion integral is the sum of its bands' integrals, each with its own expert.
TEST_F(ElboTest, MergedDiffusionTermEqualsBandwiseSum) {
  const TestMixture low = make_test_mixture(1), high = make_test_mixture(2, 2, 0.3);
  const double eta = 0.5;
  const auto merged = experts::SwitchedDenoiser::merge(high.expert, low.expert, eta);
  const int64_t n = 256;
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(71);
  const at::Tensor y = low.expert->sample(n, g);
  ElboOptions o;
  const Nodes a = nodes(n, o.samples, 72), b = nodes(n, o.samples, 73), c = nodes(n, o.samples, 74);
  const DiffusionTerm whole = elbo_diffusion_term(*merged, y, 0.002, 80.0, a.uniform, a.normal, o);
  const DiffusionTerm lower = elbo_diffusion_term(*low.expert, y, 0.002, eta, b.uniform, b.normal, o);
  const DiffusionTerm upper = elbo_diffusion_term(*high.expert, y, eta, 80.0, c.uniform, c.normal, o);
  const at::Tensor diff = whole.value - lower.value - upper.value;
  const double mean = diff.mean().item<double>();
  const double se = (diff.std() / std::sqrt(static_cast<double>(n))).item<double>();
  // The per-image standard errors must describe the actual spread of the difference.
  const double predicted = (whole.standard_error.pow(2) + lower.standard_error.pow(2) + upper.standard_error.pow(2))
                               .mean()
                               .sqrt()
                               .item<double>();
  std::printf("merged - bandwise: mean %.4g nats, SE %.3g; spread %.3g vs predicted per-image SE %.3g\n", mean, se,
              diff.std().item<double>(), predicted);
  EXPECT_LT(std::abs(mean), 3 * se);
  EXPECT_GT(predicted, 0.7 * diff.std().item<double>());  // collapsed strata: conservative, not too small
  // Using the wrong expert in one band is detected: the low expert over the whole range differs.
  const DiffusionTerm wrong = elbo_diffusion_term(*low.expert, y, 0.002, 80.0, a.uniform, a.normal, o);
  EXPECT_GT(((wrong.value - lower.value - upper.value).mean().abs() / se).item<double>(), 5);
}

TEST_F(ElboTest, DiscreteReconstructionTermIsSmallForFineNoiseAndLargerForCoarse) {
  const at::Tensor fine = discrete_reconstruction_nats(0.002);
  const at::Tensor coarse = discrete_reconstruction_nats(0.01);
  EXPECT_TRUE(at::all(fine >= 0).item<bool>());
  // Interior values are all alike; the edge bins lose one neighbour, so less confusion.
  EXPECT_NEAR(fine[100].item<double>(), fine[150].item<double>(), 1e-12);
  EXPECT_LT(fine[0].item<double>(), fine[128].item<double>());
  EXPECT_LT(fine[128].item<double>(), coarse[128].item<double>());
  // sigma_min = 0.002 vs half the grid spacing 1/255: P(misclassified) ~ 2 Phi(-1.96) ~ 5%, so well below 1 nat.
  EXPECT_GT(fine[128].item<double>(), 0.01);
  EXPECT_LT(fine[128].item<double>(), 0.5);
}

}  // namespace
}  // namespace switchdiff::likelihood
