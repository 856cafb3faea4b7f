// The switch-sigma sweep computed in one pass (shared_likelihood.h, pf_ode_sweep.h, elbo_sweep.h) against each
// point computed on its own: with the row-independent mixture expert every number must agree bitwise, and the
// sharing must actually save evaluations.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>

#include "core/error.h"
#include "experts/switched_denoiser.h"
#include "likelihood/likelihood_test_util.h"
#include "likelihood/pf_ode_sweep.h"
#include "likelihood/shared_likelihood.h"

namespace switchdiff::likelihood {
namespace {

using testing::make_test_mixture;
using testing::TestMixture;

// Two different mixtures, so that which expert served a sigma shows in every number.
struct Pair {
  TestMixture likelihood = make_test_mixture(1);
  TestMixture quality = make_test_mixture(2, 2, 0.3);
  MergedModels merge(const std::vector<double>& etas) const {
    MergedModels out;
    for (const double eta : etas) {
      out.push_back(experts::SwitchedDenoiser::merge(quality.expert, likelihood.expert, eta));
    }
    return out;
  }
};

// 8-bit images near the likelihood mixture.
at::Tensor images_of(const TestMixture& m, int64_t n, uint64_t seed) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return ((m.expert->sample(n, g) + 1) * 127.5).round().clamp(0, 255).to(at::kByte);
}

std::vector<int64_t> iota(int64_t n, int64_t first) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), first);
  return v;
}

int64_t total(const at::Tensor& t) { return t.defined() ? t.sum().item<int64_t>() : 0; }

// Images the merges' band-`band` expert was called on since reset_usage(), over all merges: an independent count of
// the evaluations performed (each drift evaluation and each ELBO node calls the denoiser once per image).
int64_t used(const MergedModels& merged, size_t band) {
  int64_t images = 0;
  for (const auto& m : merged) images += m->usage(band).images;
  return images;
}

void expect_same(const LikelihoodEstimate& shared, const LikelihoodEstimate& own, const std::string& what) {
  EXPECT_TRUE(at::equal(shared.nll_bpd, own.nll_bpd)) << what;
  EXPECT_TRUE(at::equal(shared.nll_bpd_repeats, own.nll_bpd_repeats)) << what;
  EXPECT_TRUE(at::equal(shared.nfe, own.nfe)) << what;
  EXPECT_TRUE(at::equal(shared.accepted, own.accepted)) << what;
  EXPECT_TRUE(at::equal(shared.rejected, own.rejected)) << what;
  EXPECT_TRUE(at::equal(shared.elbo_bpd, own.elbo_bpd)) << what;
  EXPECT_TRUE(at::equal(shared.elbo_bpd_stderr, own.elbo_bpd_stderr)) << what;
  EXPECT_TRUE(at::equal(shared.elbo_nfe, own.elbo_nfe)) << what;
}

struct Case {
  Divergence divergence;
  Probe probe;
  int64_t probes;
  int64_t repeats;
};

class SharedLikelihoodTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override { at::set_num_threads(1); }
};

// Every kind of point: quality alone (0, sigma_min exactly), inside (with a duplicate), likelihood alone (sigma_max
// exactly, above it).
TEST_P(SharedLikelihoodTest, EveryPointEqualsItsOwnEstimateBitwise) {
  const Case c = GetParam();
  const Pair pair;
  LikelihoodOptions o;
  o.ode.divergence = c.divergence;
  o.ode.probe = c.probe;
  o.ode.probes = c.probes;
  o.repeats = c.repeats;
  o.elbo_options.samples = 16;
  const std::vector<double> etas = {0.05, 0.0, o.ode.sigma_min, 0.3, 0.05, 1.5, o.ode.sigma_max, 100.0, 0.7};
  const MergedModels merged = pair.merge(etas);
  const int64_t n = 5;
  const at::Tensor images = images_of(pair.likelihood, n, 81);
  const std::vector<int64_t> indices = iota(n, 3);
  for (const auto& m : merged) m->reset_usage();
  const SharedLikelihoodResult shared = estimate_likelihood_shared(merged, images, indices, o);
  EXPECT_EQ(used(merged, 0), shared.performed_likelihood_nfe + shared.performed_likelihood_elbo);
  EXPECT_EQ(used(merged, 1), shared.performed_quality_nfe + shared.performed_quality_elbo);
  ASSERT_EQ(shared.points.size(), etas.size());
  int64_t attributable_nfe = 0, attributable_elbo = 0;
  for (size_t k = 0; k < etas.size(); ++k) {
    const LikelihoodEstimate own = estimate_likelihood(*merged[k], images, indices, o);
    expect_same(shared.points[k], own, "eta = " + std::to_string(etas[k]));
    attributable_nfe += total(own.nfe);
    attributable_elbo += total(own.elbo_nfe);
  }
  const int64_t performed_nfe = shared.performed_quality_nfe + shared.performed_likelihood_nfe;
  const int64_t performed_elbo = shared.performed_quality_elbo + shared.performed_likelihood_elbo;
  std::printf(
      "PF-ODE drift evaluations performed %lld of %lld attributable (quality %lld, likelihood %lld); ELBO %lld "
      "of %lld\n",
      static_cast<long long>(performed_nfe), static_cast<long long>(attributable_nfe),
      static_cast<long long>(shared.performed_quality_nfe), static_cast<long long>(shared.performed_likelihood_nfe),
      static_cast<long long>(performed_elbo), static_cast<long long>(attributable_elbo));
  EXPECT_LT(performed_nfe, attributable_nfe);
  EXPECT_LT(performed_elbo, attributable_elbo);
  // Each ELBO node is evaluated at most once per expert.
  EXPECT_LE(performed_elbo, 2 * n * o.elbo_options.samples * o.repeats);
  // The experts do differ: the quality-alone and likelihood-alone points disagree.
  EXPECT_FALSE(at::equal(shared.points[1].nll_bpd, shared.points[7].nll_bpd));
}

INSTANTIATE_TEST_SUITE_P(Divergences, SharedLikelihoodTest,
                         ::testing::Values(Case{Divergence::kHutchinson, Probe::kRademacher, 1, 1},
                                           Case{Divergence::kHutchinson, Probe::kGaussian, 2, 2},
                                           Case{Divergence::kExact, Probe::kRademacher, 1, 2}));

// One point: nothing to share, so the performed evaluations are exactly the point's own.
TEST(SharedLikelihoodCounts, SinglePointPerformsExactlyItsOwnEvaluations) {
  at::set_num_threads(1);
  const Pair pair;
  LikelihoodOptions o;
  o.elbo_options.samples = 16;
  for (const double eta : {0.0, 0.4, 80.0}) {
    const MergedModels merged = pair.merge({eta});
    const at::Tensor images = images_of(pair.likelihood, 4, 82);
    const SharedLikelihoodResult shared = estimate_likelihood_shared(merged, images, iota(4, 0), o);
    const LikelihoodEstimate own = estimate_likelihood(*merged[0], images, iota(4, 0), o);
    expect_same(shared.points[0], own, "eta = " + std::to_string(eta));
    EXPECT_EQ(shared.performed_quality_nfe + shared.performed_likelihood_nfe, total(own.nfe)) << eta;
    EXPECT_EQ(shared.performed_quality_elbo + shared.performed_likelihood_elbo, total(own.elbo_nfe)) << eta;
    EXPECT_EQ(shared.performed_likelihood_nfe == 0, eta == 0.0) << eta;
    EXPECT_EQ(shared.performed_quality_nfe == 0, eta == 80.0) << eta;
  }
}

// Without a likelihood expert every point is the quality expert alone: computed once.
TEST(SharedLikelihoodCounts, OneExpertMergesAreTheQualityExpertComputedOnce) {
  at::set_num_threads(1);
  const Pair pair;
  MergedModels merged;
  for (int k = 0; k < 3; ++k) {
    merged.push_back(std::make_shared<experts::SwitchedDenoiser>(
        std::vector<std::shared_ptr<const experts::Denoiser>>{pair.quality.expert}, std::vector<double>{}));
  }
  LikelihoodOptions o;
  o.elbo_options.samples = 16;
  const at::Tensor images = images_of(pair.likelihood, 3, 83);
  const SharedLikelihoodResult shared = estimate_likelihood_shared(merged, images, iota(3, 0), o);
  const LikelihoodEstimate own = estimate_likelihood(*pair.quality.expert, images, iota(3, 0), o);
  for (size_t k = 0; k < merged.size(); ++k) expect_same(shared.points[k], own, "merge " + std::to_string(k));
  EXPECT_EQ(shared.performed_quality_nfe, total(own.nfe));
  EXPECT_EQ(shared.performed_likelihood_nfe, 0);
  EXPECT_EQ(shared.performed_quality_elbo, total(own.elbo_nfe));
}

// The mixture, declared as trained for [0.5, 80] only.
class NarrowRange final : public experts::Denoiser {
 public:
  explicit NarrowRange(std::shared_ptr<const experts::Denoiser> inner) : inner_(std::move(inner)) {}
  at::Tensor denoise(const at::Tensor& x, const at::Tensor& sigma) const override { return inner_->denoise(x, sigma); }
  experts::SigmaRange trained_range() const override { return {0.5, 80.0}; }
  experts::ImageShape image_shape() const override { return inner_->image_shape(); }
  std::string name() const override { return "narrow " + inner_->name(); }

 private:
  std::shared_ptr<const experts::Denoiser> inner_;
};

// Inputs are checked as for each point alone, and the merges must share one expert pair.
TEST(SharedLikelihoodCounts, RejectsWhatEstimateLikelihoodRejectsAndMixedPairs) {
  const Pair pair;
  LikelihoodOptions o;
  const at::Tensor images = images_of(pair.likelihood, 2, 84);
  const MergedModels merged = pair.merge({0.1, 0.5});
  EXPECT_THROW(estimate_likelihood_shared(merged, images.to(at::kFloat), iota(2, 0), o), InputError);
  // A likelihood expert trained only for [0.5, 80] must not serve [sigma_min, 0.1] (check_trained_ranges).
  const auto narrow = std::make_shared<NarrowRange>(pair.likelihood.expert);
  const MergedModels outside = {experts::SwitchedDenoiser::merge(pair.quality.expert, narrow, 0.0),
                                experts::SwitchedDenoiser::merge(pair.quality.expert, narrow, 0.1)};
  EXPECT_THROW(estimate_likelihood_shared(outside, images, iota(2, 0), o), ConfigError);
  EXPECT_NO_THROW(estimate_likelihood_shared({outside[0]}, images, iota(2, 0), o));
  MergedModels mixed = merged;
  mixed.push_back(experts::SwitchedDenoiser::merge(pair.likelihood.expert, pair.quality.expert, 0.3));  // swapped
  EXPECT_THROW(estimate_likelihood_shared(mixed, images, iota(2, 0), o), std::invalid_argument);
}

// The fork logic itself at a tight tolerance (many steps per image, so every eta is crossed mid-run), with
// etas so close to sigma_min that the initial step's interval clip binds (the fork then restarts), and etas one ulp
// apart.
TEST(PfOdeSweep, ForkedBandsEqualSeparateIntegrationsAtTightTolerance) {
  at::set_num_threads(1);
  const Pair pair;
  PfOdeOptions o;
  o.rtol = o.atol = 1e-9;
  const int64_t n = 6;
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(91);
  const at::Tensor x0 = pair.likelihood.expert->sample(n, g) + o.sigma_min * at::randn({n, 1, 2, 2}, g, at::kDouble);
  const at::Tensor probes = at::randint(0, 2, {n, 1, 1, 2, 2}, g, at::kDouble) * 2 - 1;
  const std::vector<double> etas = {0.0020001, 0.00201, 0.0021, 0.013, 0.1, std::nextafter(0.1, 1.0), 0.5, 3.0, 20.0};
  const MergedModels merged = pair.merge(etas);
  for (const auto& m : merged) m->reset_usage();
  const PfOdeSweepResult sweep = pf_ode_log_density_sweep(merged, x0, probes, o, iota(n, 0));
  EXPECT_EQ(used(merged, 0), sweep.performed_likelihood_nfe);
  EXPECT_EQ(used(merged, 1), sweep.performed_quality_nfe);
  int64_t attributable = 0, likelihood_attributable = 0;
  for (size_t k = 0; k < etas.size(); ++k) {
    const PfOdeResult own = pf_ode_log_density(*merged[k], x0, probes, o, iota(n, 0));
    const PfOdeResult& s = sweep.points[k];
    const std::string what = "eta = " + std::to_string(etas[k]);
    EXPECT_TRUE(at::equal(s.log_density, own.log_density)) << what;
    EXPECT_TRUE(at::equal(s.final_state.x, own.final_state.x)) << what;
    EXPECT_TRUE(at::equal(s.final_state.delta_logp, own.final_state.delta_logp)) << what;
    EXPECT_TRUE(at::equal(s.final_state.nfe, own.final_state.nfe)) << what;
    EXPECT_TRUE(at::equal(s.final_state.accepted, own.final_state.accepted)) << what;
    EXPECT_TRUE(at::equal(s.final_state.rejected, own.final_state.rejected)) << what;
    EXPECT_EQ(s.final_state.sigma, own.final_state.sigma);
    attributable += total(own.final_state.nfe);
    const PfOdeState below = pf_ode_advance(*merged[k], pf_ode_initial_state(x0, o.sigma_min), etas[k], probes, o);
    likelihood_attributable += total(below.nfe);
  }
  // Many steps per image (about 80 for the widest point), so the etas are crossed mid-run.
  EXPECT_GT(total(sweep.points.back().final_state.accepted), 50 * n);
  std::printf("tight tolerance: likelihood band performed %lld of %lld; all %lld of %lld\n",
              static_cast<long long>(sweep.performed_likelihood_nfe), static_cast<long long>(likelihood_attributable),
              static_cast<long long>(sweep.performed_likelihood_nfe + sweep.performed_quality_nfe),
              static_cast<long long>(attributable));
  EXPECT_LT(sweep.performed_likelihood_nfe, likelihood_attributable / 2);
  EXPECT_EQ(sweep.performed_likelihood_nfe + sweep.performed_quality_nfe < attributable, true);
}

// The measurement of the brief: 5 points {0, 0.1, 0.5, 2, 80} at the default tolerance (reported, not timed).
TEST(PfOdeSweep, ReportsPerformedOverNaiveEvaluationsForFivePoints) {
  at::set_num_threads(1);
  const Pair pair;
  PfOdeOptions o;  // sigma_min 0.002, sigma_max 80, rtol = atol = 1e-5
  const int64_t n = 32;
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(92);
  const at::Tensor x0 = pair.likelihood.expert->sample(n, g) + o.sigma_min * at::randn({n, 1, 2, 2}, g, at::kDouble);
  const at::Tensor probes = at::randint(0, 2, {n, 1, 1, 2, 2}, g, at::kDouble) * 2 - 1;
  const MergedModels merged = pair.merge({0.0, 0.1, 0.5, 2.0, 80.0});
  const PfOdeSweepResult sweep = pf_ode_log_density_sweep(merged, x0, probes, o);
  int64_t naive = 0;
  for (const PfOdeResult& p : sweep.points) naive += total(p.final_state.nfe);
  const int64_t performed = sweep.performed_quality_nfe + sweep.performed_likelihood_nfe;
  std::printf(
      "5 points {0, 0.1, 0.5, 2, 80}, %lld images: performed %lld / naive %lld = %.3f (quality %lld, "
      "likelihood %lld)\n",
      static_cast<long long>(n), static_cast<long long>(performed), static_cast<long long>(naive),
      static_cast<double>(performed) / static_cast<double>(naive), static_cast<long long>(sweep.performed_quality_nfe),
      static_cast<long long>(sweep.performed_likelihood_nfe));
  EXPECT_LT(performed, naive);
}

}  // namespace
}  // namespace switchdiff::likelihood
