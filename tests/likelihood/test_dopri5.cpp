// The per-row Dormand-Prince solver on ODEs with known solutions, per-row independence, and its error paths.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>
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

}  // namespace
}  // namespace switchdiff::likelihood
