// PF-ODE log-density against exact truths (docs/likelihood.md#the-probability-flow-ode): analytic Gaussian-mixture
// densities, a float64 fixed-step RK4 reference per band for a merged model, and batch invariance.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <mutex>

#include "common/recording_denoiser.h"
#include "core/error.h"
#include "experts/switched_denoiser.h"
#include "likelihood/likelihood_test_util.h"
#include "likelihood/pf_ode.h"

namespace switchdiff::likelihood {
namespace {

using testing::make_test_mixture;
using testing::TestMixture;

at::Generator generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

// Points of p_{sigma_min}: mixture draws plus sigma_min noise.
at::Tensor noisy_draws(const TestMixture& m, int64_t n, uint64_t seed, double sigma) {
  at::Generator g = generator(seed);
  const at::Tensor y = m.expert->sample(n, g);
  return y + sigma * at::randn(y.sizes(), g, at::kDouble);
}

at::Tensor rademacher(int64_t n, int64_t k, uint64_t seed) {
  at::Generator g = generator(seed);
  return at::randint(0, 2, {n, k, 1, 2, 2}, g, at::kDouble) * 2 - 1;
}

bool bitwise_equal(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor x = a.contiguous(), y = b.contiguous();
  return x.sizes() == y.sizes() && x.scalar_type() == y.scalar_type() &&
         std::memcmp(x.data_ptr(), y.data_ptr(), x.numel() * x.element_size()) == 0;
}

class PfOdeTest : public ::testing::Test {
 protected:
  void SetUp() override { at::set_num_threads(1); }
};

// Point 1, exact divergence: log p_{sigma_min}(x0) = log p_{sigma_max}(x_T) + int div f exactly along the flow of
// the exact mixture denoiser. Our log_density uses the Gaussian prior at x_T instead of p_{sigma_max}; that
// prior-mismatch term log N(x_T; 0, sigma_max^2 I) - log p_{sigma_max}(x_T) is computed explicitly.
TEST_F(PfOdeTest, ExactDivergenceMatchesAnalyticMixtureDensity) {
  const TestMixture m = make_test_mixture(1);
  PfOdeOptions o;
  o.divergence = Divergence::kExact;
  const at::Tensor x0 = noisy_draws(m, 256, 11, o.sigma_min);
  const PfOdeResult r = pf_ode_log_density(*m.expert, x0, {}, o);
  const at::Tensor truth = m.expert->log_density(x0, at::full({256}, o.sigma_min, at::kDouble));
  const at::Tensor x_t = r.final_state.x;
  const at::Tensor exact_end = m.expert->log_density(x_t, at::full({256}, o.sigma_max, at::kDouble));
  const at::Tensor mismatch = gaussian_prior_log_density(x_t, o.sigma_max) - exact_end;
  const double dims = 4;
  const double error = ((exact_end + r.final_state.delta_logp - truth).abs().max() / dims).item<double>();
  const double error_with_prior = ((r.log_density - mismatch - truth).abs().max() / dims).item<double>();
  std::printf("max |ODE - analytic| = %.3g nats/dim; prior-mismatch term mean %.3g nats/dim; NFE mean %.1f\n", error,
              (mismatch.mean() / dims).item<double>(), r.final_state.nfe.to(at::kDouble).mean().item<double>());
  EXPECT_LT(error, 1e-3);
  EXPECT_LT(error_with_prior, 1e-3);
  // Tight tolerance shrinks the error: the solver, not the formula, limits the accuracy.
  o.rtol = o.atol = 1e-9;
  const PfOdeResult tight = pf_ode_log_density(*m.expert, x0.narrow(0, 0, 16), {}, o);
  const double tight_error = ((m.expert->log_density(tight.final_state.x, at::full({16}, o.sigma_max, at::kDouble)) +
                               tight.final_state.delta_logp - truth.narrow(0, 0, 16))
                                  .abs()
                                  .max() /
                              dims)
                                 .item<double>();
  std::printf("rtol = atol = 1e-9: max error %.3g nats/dim\n", tight_error);
  EXPECT_LT(tight_error, 1e-7);
}

// Point 1, Hutchinson: unbiased, so the mean over 512 points of (Hutchinson - exact) is within 3 standard errors.
TEST_F(PfOdeTest, HutchinsonIsUnbiasedOverManyPoints) {
  const TestMixture m = make_test_mixture(1);
  const int64_t n = 512;
  const at::Tensor x0 = noisy_draws(m, n, 12, 0.002);
  PfOdeOptions o;
  const at::Tensor truth = m.expert->log_density(x0, at::full({n}, o.sigma_min, at::kDouble));
  for (const Probe probe : {Probe::kRademacher, Probe::kGaussian}) {
    o.probe = probe;
    at::Generator g = generator(13);
    const at::Tensor probes =
        probe == Probe::kRademacher ? rademacher(n, 1, 14) : at::randn({n, 1, 1, 2, 2}, g, at::kDouble);
    const PfOdeResult r = pf_ode_log_density(*m.expert, x0, probes, o);
    const at::Tensor exact_end = m.expert->log_density(r.final_state.x, at::full({n}, o.sigma_max, at::kDouble));
    const at::Tensor diff = exact_end + r.final_state.delta_logp - truth;
    const double mean = diff.mean().item<double>();
    const double se = (diff.std() / std::sqrt(static_cast<double>(n))).item<double>();
    std::printf("%s: mean(Hutchinson - analytic) = %.4g nats, standard error %.4g (|z| = %.2f)\n",
                to_string(probe).c_str(), mean, se, std::abs(mean) / se);
    EXPECT_LT(std::abs(mean), 3 * se);
    EXPECT_GT(se, 1e-3);  // the estimator does vary between probes
  }
}

// Point 2: two different mixtures merged at eta; float64 RK4 on each band with the closed-form drift.
TEST_F(PfOdeTest, SwitchedModelMatchesBandwiseRk4Reference) {
  const TestMixture low = make_test_mixture(1);
  const TestMixture high = make_test_mixture(2, 2, 0.3);
  const double eta = 0.5;
  const auto merged = experts::SwitchedDenoiser::merge(high.expert, low.expert, eta);
  const int64_t n = 12;
  const at::Tensor x0 = noisy_draws(low, n, 21, 0.002);
  at::Tensor x_eta, x_t;
  const at::Tensor l_low = testing::reference_rk4_band(low, x0.reshape({n, 4}), 0.002, eta, 1000, &x_eta);
  const at::Tensor l_high = testing::reference_rk4_band(high, x_eta, eta, 80.0, 1000, &x_t);
  const at::Tensor reference = gaussian_prior_log_density(x_t.reshape({n, 1, 2, 2}), 80.0) + l_low + l_high;

  // At the default tolerance the error is what rtol = atol = 1e-5 allows on the augmented state (whose log-density
  // component int div f is ~20 nats here); at 1e-8 the switch handling itself is checked to 1e-4 relative and better.
  PfOdeOptions o;
  o.divergence = Divergence::kExact;
  PfOdeResult r;
  for (const double tol : {1e-5, 1e-8}) {
    o.rtol = o.atol = tol;
    r = pf_ode_log_density(*merged, x0, {}, o);
    const double relative = ((r.log_density - reference).abs() / reference.abs()).max().item<double>();
    const double absolute = (r.log_density - reference).abs().max().item<double>();
    std::printf(
        "merged at eta = %g, rtol = atol = %g: max error vs RK4 %.3g nats, relative %.3g (|log p| ~ %.3g, "
        "|int div f| ~ %.3g)\n",
        eta, tol, absolute, relative, reference.abs().mean().item<double>(),
        (l_low + l_high).abs().mean().item<double>());
    EXPECT_LT(relative, tol == 1e-5 ? 2e-3 : 1e-4);
    EXPECT_LT((r.final_state.x.reshape({n, 4}) - x_t).abs().max().item<double>(),
              tol == 1e-5 ? 1e-3 : 1e-5);  // |x_T| ~ 80
  }

  // Without the split the drift's jump would be integrated as if smooth: the high-band expert alone is far off.
  const PfOdeResult single = pf_ode_log_density(*low.expert, x0, {}, o);
  EXPECT_GT(((single.log_density - reference).abs() / reference.abs()).max().item<double>(), 1e-2);
}

using testing::RecordingDenoiser;

// docs/experts.md: sigma == eta belongs to the likelihood expert; the band above eta starts with the quality expert.
TEST_F(PfOdeTest, EachBandIsServedByItsOwnExpertIncludingTheSwitchPoint) {
  const TestMixture low = make_test_mixture(1), high = make_test_mixture(2);
  const auto quality = std::make_shared<RecordingDenoiser>(high.expert);
  const auto likelihood = std::make_shared<RecordingDenoiser>(low.expert);
  const double eta = 0.5;
  const auto merged = experts::SwitchedDenoiser::merge(quality, likelihood, eta);
  PfOdeOptions o;
  pf_ode_log_density(*merged, noisy_draws(low, 4, 31, o.sigma_min), rademacher(4, 1, 32), o);
  const std::vector<double> q = quality->seen(), l = likelihood->seen();
  ASSERT_FALSE(q.empty());
  ASSERT_FALSE(l.empty());
  EXPECT_GT(*std::min_element(q.begin(), q.end()), eta);
  EXPECT_EQ(*std::min_element(q.begin(), q.end()), std::nextafter(eta, 1e300));  // the upper band's left end
  EXPECT_LE(*std::max_element(l.begin(), l.end()), eta);
  EXPECT_EQ(*std::max_element(l.begin(), l.end()), eta);  // the lower band's right end
  EXPECT_EQ(*std::max_element(q.begin(), q.end()), o.sigma_max);
}

// A wrapper around a merged model keeps its split: the PF-ODE asks the denoiser for its switch sigmas (no cast to
// SwitchedDenoiser), so the wrapped model integrates band by band and gives the same result, bitwise.
TEST_F(PfOdeTest, WrapperAroundAMergedModelKeepsTheSplit) {
  const TestMixture low = make_test_mixture(1), high = make_test_mixture(2);
  const auto merged = experts::SwitchedDenoiser::merge(high.expert, low.expert, 0.5);
  const RecordingDenoiser wrapper(merged);
  EXPECT_EQ(pf_ode_split_points(wrapper, 0.002, 80, {}), (std::vector<double>{0.5, 80}));
  PfOdeOptions o;
  const at::Tensor x0 = noisy_draws(low, 3, 61, o.sigma_min), probes = rademacher(3, 1, 62);
  const PfOdeResult direct = pf_ode_log_density(*merged, x0, probes, o);
  const PfOdeResult wrapped = pf_ode_log_density(wrapper, x0, probes, o);
  EXPECT_TRUE(bitwise_equal(direct.log_density, wrapped.log_density));
  EXPECT_TRUE(bitwise_equal(direct.final_state.nfe, wrapped.final_state.nfe));
  // The wrapper's trained-range check is the merged model's, per band: a likelihood expert trained only up to
  // 0.1 cannot serve (0.002, 0.5].
  const auto narrow =
      std::make_shared<RecordingDenoiser>("narrow", 1.0, experts::ImageShape{1, 2, 2}, experts::SigmaRange{0.002, 0.1});
  const auto wide =
      std::make_shared<RecordingDenoiser>("wide", 1.0, experts::ImageShape{1, 2, 2}, experts::SigmaRange{0.002, 80});
  const RecordingDenoiser wrapped_narrow(experts::SwitchedDenoiser::merge(wide, narrow, 0.5));
  EXPECT_THROW(wrapped_narrow.check_trained_range(0.002, 80, "fix"), ConfigError);
  EXPECT_NO_THROW(
      RecordingDenoiser(experts::SwitchedDenoiser::merge(wide, narrow, 0.1)).check_trained_range(0.002, 80, "fix"));
}

// Point 3 (mixture expert): an image's result alone equals its result in a batch of 64, bitwise.
TEST_F(PfOdeTest, ImageResultIsBitwiseIndependentOfItsBatch) {
  const TestMixture low = make_test_mixture(1), high = make_test_mixture(2);
  const auto merged = experts::SwitchedDenoiser::merge(high.expert, low.expert, 0.3);
  const int64_t n = 64;
  const at::Tensor x0 = noisy_draws(low, n, 41, 0.002);
  const at::Tensor probes = rademacher(n, 2, 42);
  PfOdeOptions o;
  o.probes = 2;
  const PfOdeResult all = pf_ode_log_density(*merged, x0, probes, o);
  for (const int64_t j : {0, 17, 63}) {
    const PfOdeResult one = pf_ode_log_density(*merged, x0.narrow(0, j, 1), probes.narrow(0, j, 1), o);
    EXPECT_TRUE(bitwise_equal(one.log_density, all.log_density.narrow(0, j, 1))) << "image " << j;
    EXPECT_TRUE(bitwise_equal(one.final_state.x, all.final_state.x.narrow(0, j, 1))) << "image " << j;
    EXPECT_EQ(one.final_state.nfe.item<int64_t>(), all.final_state.nfe[j].item<int64_t>());
    EXPECT_EQ(one.final_state.rejected.item<int64_t>(), all.final_state.rejected[j].item<int64_t>());
  }
  // The images do take different step sequences (so the test exercises per-image control).
  EXPECT_GT(all.final_state.accepted.max().item<int64_t>(), all.final_state.accepted.min().item<int64_t>());
}

// Snapshots are exact step ends, and continuing a snapshot equals the one-call trajectory, bitwise (the sweep
// shares the trajectory below the smallest switch sigma this way).
TEST_F(PfOdeTest, AdvancingInPiecesEqualsOneCallWithSnapshots) {
  const TestMixture m = make_test_mixture(3);
  const int64_t n = 5;
  const at::Tensor x0 = noisy_draws(m, n, 51, 0.002);
  const at::Tensor probes = rademacher(n, 1, 52);
  PfOdeOptions o;
  const PfOdeResult one = pf_ode_log_density(*m.expert, x0, probes, o, {}, {0.1, 1.0});
  ASSERT_EQ(one.snapshots.size(), 2u);
  EXPECT_EQ(one.snapshots[0].sigma, 0.1);
  PfOdeState s = pf_ode_initial_state(x0, o.sigma_min);
  s = pf_ode_advance(*m.expert, s, 0.1, probes, o);
  EXPECT_TRUE(bitwise_equal(s.x, one.snapshots[0].x));
  s = pf_ode_advance(*m.expert, s, 1.0, probes, o);
  EXPECT_TRUE(bitwise_equal(s.delta_logp, one.snapshots[1].delta_logp));
  s = pf_ode_advance(*m.expert, s, o.sigma_max, probes, o);
  EXPECT_TRUE(bitwise_equal(s.delta_logp, one.final_state.delta_logp));
  EXPECT_TRUE(bitwise_equal(s.nfe, one.final_state.nfe));
  // And the snapshots' split changes the result only within the tolerance.
  const PfOdeResult plain = pf_ode_log_density(*m.expert, x0, probes, o);
  EXPECT_LT((plain.log_density - one.log_density).abs().max().item<double>(), 1e-3);
}

}  // namespace
}  // namespace switchdiff::likelihood
