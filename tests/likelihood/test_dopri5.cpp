// The per-row Dormand-Prince solver on ODEs with known solutions, per-row independence, and its error paths.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "likelihood/dopri5.h"

namespace switchdiff::likelihood {
namespace {

// dy/dt = -k_i t y, row i with its own rate k_i: y(t) = y0 exp(-k_i (t^2 - t0^2) / 2).
BatchRhs gaussian_decay(const std::vector<double>& rates) {
  return [rates](const std::vector<int64_t>& rows, const at::Tensor& t, const at::Tensor& y) {
    at::Tensor out = at::empty_like(y);
    for (size_t r = 0; r < rows.size(); ++r) {
      const double k = rates[rows[r]];
      for (int64_t j = 0; j < y.size(1); ++j) {
        out[r][j] = -k * t[r].item<double>() * y[r][j].item<double>();
      }
    }
    return out;
  };
}

TEST(Dopri5Test, SolvesEachRowToItsTolerance) {
  const std::vector<double> rates = {0.5, 3.0, 40.0};
  at::Tensor y = at::ones({3, 2}, at::kDouble);
  y.select(1, 1).fill_(-2.0);
  std::vector<StepCounts> counts(3);
  Dopri5Settings s;
  s.rtol = s.atol = 1e-8;
  dopri5_integrate(gaussian_decay(rates), y, 0.1, 1.0, s, counts);
  for (int i = 0; i < 3; ++i) {
    const double exact = std::exp(-rates[i] * (1.0 - 0.01) / 2);
    EXPECT_NEAR(y[i][0].item<double>(), exact, 1e-7) << "row " << i;
    EXPECT_NEAR(y[i][1].item<double>(), -2 * exact, 1e-7) << "row " << i;
    EXPECT_EQ(counts[i].nfe, 2 + 6 * (counts[i].accepted + counts[i].rejected));
  }
  // The stiffer row needs more steps; per-row control gives the easy row few steps.
  EXPECT_LT(counts[0].accepted, counts[2].accepted);
}

TEST(Dopri5Test, RowResultDoesNotDependOnItsBatchMates) {
  const std::vector<double> rates = {2.0, 500.0, 0.01};
  at::Tensor batch = at::full({3, 1}, 0.7, at::kDouble);
  std::vector<StepCounts> counts(3);
  dopri5_integrate(gaussian_decay(rates), batch, 0.0, 2.0, Dopri5Settings{}, counts);
  at::Tensor alone = at::full({1, 1}, 0.7, at::kDouble);
  std::vector<StepCounts> one(1);
  dopri5_integrate(gaussian_decay({2.0}), alone, 0.0, 2.0, Dopri5Settings{}, one);
  const double a = alone.item<double>(), b = batch[0][0].item<double>();
  EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0);
  EXPECT_EQ(one[0].nfe, counts[0].nfe);
}

TEST(Dopri5Test, StepUnderflowNamesRowAndTime) {
  Dopri5Settings s;
  s.min_step = 0.5;  // far larger than the steps this ODE needs
  s.time_name = "sigma";
  s.row_name = [](int64_t row) { return "image " + std::to_string(row + 100); };
  at::Tensor y = at::ones({2, 1}, at::kDouble);
  std::vector<StepCounts> counts(2);
  try {
    dopri5_integrate(gaussian_decay({0.1, 5000.0}), y, 0.0, 1.0, s, counts);
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("image 101"), std::string::npos) << what;
    EXPECT_NE(what.find("underflow"), std::string::npos) << what;
    EXPECT_NE(what.find("sigma = "), std::string::npos) << what;
  }
}

TEST(Dopri5Test, TooManyStepsIsAnError) {
  Dopri5Settings s;
  s.max_steps = 5;
  at::Tensor y = at::ones({1, 1}, at::kDouble);
  std::vector<StepCounts> counts(1);
  EXPECT_THROW(dopri5_integrate(gaussian_decay({1000.0}), y, 0.0, 1.0, s, counts), InputError);
}

TEST(Dopri5Test, EmptyIntervalDoesNothing) {
  at::Tensor y = at::ones({2, 3}, at::kDouble);
  std::vector<StepCounts> counts(2);
  dopri5_integrate(gaussian_decay({1, 1}), y, 0.5, 0.5, Dopri5Settings{}, counts);
  EXPECT_EQ(counts[0].nfe, 0);
  EXPECT_TRUE(at::equal(y, at::ones({2, 3}, at::kDouble)));
}

// dy/dt = -k_i (y - cos t + square(t)), a square wave of period 0.1: large k puts the explicit method on its stability
// limit and every jump of the wave makes it reject, so rejected attempts are frequent.
BatchRhs stiff_relaxation(const std::vector<double>& rates) {
  return [rates](const std::vector<int64_t>& rows, const at::Tensor& t, const at::Tensor& y) {
    at::Tensor out = at::empty_like(y);
    const int64_t n = y.size(1);
    for (size_t r = 0; r < rows.size(); ++r) {
      const double k = rates[rows[r]], tr = t.data_ptr<double>()[r];
      const double target = std::cos(tr) + (std::fmod(tr, 0.1) < 0.05 ? 1.0 : -1.0);
      const double* yr = y.data_ptr<double>() + r * n;
      for (int64_t j = 0; j < n; ++j) out.data_ptr<double>()[r * n + j] = -k * (yr[j] - target);
    }
    return out;
  };
}

bool same_bits(const at::Tensor& a, const at::Tensor& b) {
  return a.sizes() == b.sizes() && std::memcmp(a.data_ptr(), b.data_ptr(), a.numel() * sizeof(double)) == 0;
}

// Forking at thresholds (the sweep over switch sigmas): each fork, resumed to its threshold, is bitwise the plain
// integration ending there, counters included, and the watched integration itself is unchanged. Dense thresholds
// over a run with frequent rejections fork mid-run; thresholds just above t0 make the initial step's interval clip
// bind (the fork restarts). (A fork never happens right after a rejection: the rejected attempt had the same t and a
// larger step, so it would have crossed the threshold first.)
TEST(Dopri5Test, ForksResumeToTheirThresholdExactlyAsAPlainIntegration) {
  const std::vector<double> rates = {3.0, 300.0, 3000.0};
  const double t0 = 0.01, t1 = 1.0;
  std::vector<double> thresholds = {t0 + 1e-9, t0 + 1e-6, t0 + 1e-4};
  for (int a = 1; a < 150; ++a) thresholds.push_back(t0 + (t1 - t0) * a / 150.0);
  Dopri5Settings s;
  s.rtol = s.atol = 1e-6;
  const at::Tensor start = at::tensor({1.0, -0.5, 2.0}, at::kDouble).reshape({3, 1});
  const BatchRhs rhs = stiff_relaxation(rates);
  at::Tensor watched = start.clone();
  std::vector<StepCounts> watched_counts(3);
  std::vector<std::vector<Dopri5RowState>> forks;
  dopri5_integrate_forking(rhs, watched, t0, t1, thresholds, s, watched_counts, forks);
  at::Tensor plain = start.clone();
  std::vector<StepCounts> plain_counts(3);
  dopri5_integrate(rhs, plain, t0, t1, s, plain_counts);
  EXPECT_TRUE(same_bits(watched, plain));
  int restarts = 0, mid_run = 0, rejected_rows = 0;
  ASSERT_EQ(forks.size(), thresholds.size());
  for (size_t a = 0; a < thresholds.size(); ++a) {
    std::vector<StepCounts> fork_counts;
    const at::Tensor resumed = dopri5_resume(rhs, forks[a], thresholds[a], s, fork_counts);
    at::Tensor own = start.clone();
    std::vector<StepCounts> own_counts(3);
    dopri5_integrate(rhs, own, t0, thresholds[a], s, own_counts);
    EXPECT_TRUE(same_bits(resumed, own)) << "threshold " << thresholds[a];
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(fork_counts[i].nfe, own_counts[i].nfe) << "threshold " << thresholds[a] << " row " << i;
      EXPECT_EQ(fork_counts[i].accepted, own_counts[i].accepted) << "threshold " << thresholds[a] << " row " << i;
      EXPECT_EQ(fork_counts[i].rejected, own_counts[i].rejected) << "threshold " << thresholds[a] << " row " << i;
      restarts += !forks[a][i].started;
      mid_run += forks[a][i].started;
    }
  }
  for (const StepCounts& c : plain_counts) rejected_rows += c.rejected > 10;
  std::printf("forks: %d restarts at the initial step, %d mid-run\n", restarts, mid_run);
  EXPECT_GT(restarts, 0);
  EXPECT_GT(mid_run, restarts);
  EXPECT_GT(rejected_rows, 0);  // rejections do happen in the run being forked
}

}  // namespace
}  // namespace switchdiff::likelihood
