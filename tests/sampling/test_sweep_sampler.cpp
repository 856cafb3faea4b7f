// Sampling every switch point from one shared trunk (sampling/sweep_sampler.h) gives each point exactly the
// samples of its own merged model run alone (sample_seeds on SwitchedDenoiser::merge), bitwise, and performs the
// fewest evaluations sharing allows, counted here from the EDM grid formula and the eta list.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <set>

#include "experts/gmm_helpers.h"
#include "experts/switched_denoiser.h"
#include "experts/torchscript_expert.h"
#include "common/test_support.h"
#include "sampling/sample_batch.h"

namespace switchdiff {
namespace {

using Merged = std::vector<std::shared_ptr<const experts::SwitchedDenoiser>>;

// Karras et al. 2022 eq. (5), written out here rather than taken from sampling/.
std::vector<double> grid(int n, double smin, double smax, double rho) {
  std::vector<double> s;
  for (int i = 0; i < n; ++i) {
    s.push_back(
        std::pow(std::pow(smax, 1 / rho) + i / (n - 1.0) * (std::pow(smin, 1 / rho) - std::pow(smax, 1 / rho)), rho));
  }
  s.push_back(0);
  return s;
}

// Fewest evaluations per image for a churn-free sweep: the quality trunk down to the deepest branch (or whole,
// when some eta is below every call sigma), plus one branch per distinct set of calls at or below eta.
int64_t minimum_evaluations(const std::vector<double>& etas, int n, bool heun) {
  const std::vector<double> s = grid(n, 0.002, 80, 7);
  std::vector<double> calls;
  for (int i = 0; i < n; ++i) {
    calls.push_back(s[i]);
    if (heun && i < n - 1) calls.push_back(s[i + 1]);
  }
  const auto total = static_cast<int64_t>(calls.size());
  int64_t trunk = 0, branches = 0;
  std::set<int64_t> seen;
  for (double eta : etas) {
    int64_t b = 0;
    while (b < total && calls[b] > eta) ++b;
    trunk = std::max(trunk, b);
    if (b < total && seen.insert(b).second) branches += total - b;
  }
  return trunk + branches;
}

struct Case {
  const char* name;
  sampling::Solver solver;
  double churn;
};

class SweepSampler : public ::testing::TestWithParam<Case> {};

TEST_P(SweepSampler, EveryPointEqualsItsOwnMergeBitwise) {
  const Case c = GetParam();
  auto quality = testing::random_mixture({1, 3, 3}, 3, 11, 0.6, 0.01, "quality");
  auto likelihood = testing::random_mixture({1, 3, 3}, 4, 12, 0.6, 0.01, "likelihood");
  sampling::SamplerOptions o;
  o.solver = c.solver;
  o.churn = c.churn;
  o.s_min = 0.05;
  o.s_max = 20;
  o.schedule.num_steps = 12;
  const std::vector<double> s = sampling::edm_sigma_grid(o.schedule);
  // eta = 0, on a grid sigma, between grid sigmas (twice in one interval), duplicated, sigma_max exactly, above.
  const std::vector<double> etas{0, s[4], 0.5 * (s[6] + s[7]), 0.4 * s[6] + 0.6 * s[7], s[4], s[0], 100, s[10]};
  Merged merged;
  for (double eta : etas) merged.push_back(experts::SwitchedDenoiser::merge(quality, likelihood, eta));
  const experts::SwitchedDenoiser trunk({quality}, {});
  const std::vector<int64_t> seeds = core::consecutive_seeds(5, 7);
  std::vector<at::Tensor> shared(etas.size());
  int64_t performed = 0;
  sampling::sample_seeds_sweep(
      merged, trunk, seeds, o, [&](size_t k, const sampling::SampleBatch& b) { shared[k] = b.final_state; },
      &performed);
  for (size_t k = 0; k < etas.size(); ++k) {
    ASSERT_TRUE(shared[k].defined()) << "point " << k;
    const at::Tensor alone = sampling::sample_seeds(*merged[k], seeds, o).final_state;
    EXPECT_TRUE(at::equal(shared[k], alone))
        << c.name << ": eta = " << etas[k] << ", max |diff| " << (shared[k] - alone).abs().max().item<double>();
  }
  const int64_t naive = sampling::evaluations_per_sample(o) * static_cast<int64_t>(etas.size());
  EXPECT_LT(performed, naive);
  if (c.churn == 0) {
    EXPECT_EQ(performed, minimum_evaluations(etas, 12, c.solver == sampling::Solver::kHeun));
  }
  // The counters of the experts agree with the plan: every performed call is an image evaluation of one expert.
  const auto plan = sampling::plan_sweep_sampling(merged, o);
  EXPECT_EQ(plan.performed_calls(), performed);
}

INSTANTIATE_TEST_SUITE_P(Solvers, SweepSampler,
                         ::testing::Values(Case{"heun", sampling::Solver::kHeun, 0},
                                           Case{"euler", sampling::Solver::kEuler, 0},
                                           Case{"heun_churn", sampling::Solver::kHeun, 30}),
                         [](const auto& test) { return std::string(test.param.name); });

TEST(SweepSampler, DemoGridSharingRatios) {
  // The 18-step grid and the demo's etas {0, 0.1, 0.5, 2, 80}: 108 of 175 evaluations (0.617); every grid sigma
  // as a switch point (sweep.steps = all, plus 0): 0.565.
  const std::vector<double> demo{0, 0.1, 0.5, 2, 80};
  EXPECT_EQ(minimum_evaluations(demo, 18, true), 108);
  std::vector<double> all{0};
  for (double v : grid(18, 0.002, 80, 7)) {
    if (v > 0) all.push_back(v);
  }
  EXPECT_NEAR(static_cast<double>(minimum_evaluations(all, 18, true)) / (35.0 * all.size()), 0.565, 0.001);
}

TEST(SweepSampler, TorchScriptPairBitwise) {
  // Real networks: the trunk and every branch call the same experts on the same batches as the point run alone.
  const std::string dir = testing::tiny_fixtures_dir();
  auto quality = std::make_shared<experts::TorchScriptExpert>(experts::ExpertSpec{dir + "/tiny_edm_b.pt"});
  auto likelihood = std::make_shared<experts::TorchScriptExpert>(experts::ExpertSpec{dir + "/tiny_edm.pt"});
  sampling::SamplerOptions o;
  o.schedule.num_steps = 8;
  const std::vector<double> s = sampling::edm_sigma_grid(o.schedule);
  const std::vector<double> etas{0, s[3], 0.5 * (s[5] + s[6]), 80};
  Merged merged;
  for (double eta : etas) merged.push_back(experts::SwitchedDenoiser::merge(quality, likelihood, eta));
  const experts::SwitchedDenoiser trunk({quality}, {});
  const std::vector<int64_t> seeds = core::consecutive_seeds(0, 5);
  sampling::sample_seeds_sweep(merged, trunk, seeds, o, [&](size_t k, const sampling::SampleBatch& b) {
    EXPECT_TRUE(at::equal(b.images, sampling::sample_seeds(*merged[k], seeds, o).images)) << "eta " << etas[k];
    EXPECT_TRUE(at::equal(b.final_state, sampling::sample_seeds(*merged[k], seeds, o).final_state));
  });
}

}  // namespace
}  // namespace switchdiff
