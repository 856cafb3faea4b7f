// The analytic expert is the ground truth of many other tests, so it is checked against two
// independent facts: Tweedie's formula D(x;s) = x + s^2 grad log p_s(x) (autograd of log_density),
// and scipy's multivariate normal density (python3-scipy, run in the test).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "common/test_support.h"
#include "core/error.h"
#include "experts/expert_loader.h"
#include "experts/gaussian_mixture_expert.h"
#include "experts/gmm_helpers.h"

namespace switchdiff {
namespace {

using experts::GaussianMixtureExpert;
using experts::ImageShape;

TEST(GaussianMixtureExpert, DenoiserMatchesTweedieFormula) {
  auto gmm = testing::random_mixture({1, 2, 3}, 4, 7);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  for (double s : {0.01, 0.3, 2.0, 40.0}) {
    at::Tensor x = (gmm->sample(16, gen) + s * at::randn({16, 1, 2, 3}, gen, at::kDouble)).requires_grad_(true);
    const at::Tensor sigma = at::full({16}, s, at::kDouble);
    const at::Tensor log_p = gmm->log_density(x, sigma).sum();
    const at::Tensor score = torch::autograd::grad({log_p}, {x})[0];
    const at::Tensor tweedie = x.detach() + s * s * score;
    const at::Tensor d = gmm->denoise(x.detach(), sigma);
    EXPECT_LT((d - tweedie).abs().max().item<double>(), 1e-9 * std::max(1.0, s * s)) << "sigma " << s;
  }
}

TEST(GaussianMixtureExpert, LogDensityMatchesScipy) {
  const std::string dir = testing::scratch_dir();
  // A parameter file read through the loader, so the file format is covered too.
  std::ofstream(dir + "/mix.txt") << "gmm 1  # two components in 1x1x2\nshape 1 1 2\ncomponents 2\n"
                                     "weight 1 mean 0.5 -0.25 covariance 0.3 0.1 0.1 0.2\n"
                                     "weight 3 mean -0.4 0.6 diagonal 0.05 0.4\n";
  auto expert = experts::load_expert({"gmm:" + dir + "/mix.txt"});
  const auto& gmm = dynamic_cast<const GaussianMixtureExpert&>(*expert);
  const at::Tensor x = at::tensor({0.1, 0.2, -1.0, 0.7, 2.0, -2.0}, at::kDouble).reshape({3, 1, 1, 2});
  const double s = 0.7;
  const at::Tensor ours = gmm.log_density(x, at::full({3}, s, at::kDouble));
  // scipy's density of the same mixture (tests/experts/py/gmm_log_density.py), s^2 in shortest round-trip form.
  const auto result = testing::run_command(
      testing::python_script_command(dir, "tests/experts/py/gmm_log_density.py", {fmt::format("{}", s * s)}));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::istringstream in(result.output);
  for (int i = 0; i < 3; ++i) {
    double ref = 0;
    in >> ref;
    EXPECT_NEAR(ours[i].item<double>(), ref, 1e-12 * std::abs(ref) + 1e-12) << i;
  }
}

TEST(GaussianMixtureExpert, SamplesHaveTheMixtureMoments) {
  auto gmm = testing::random_mixture({1, 1, 3}, 3, 11);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const int64_t n = 40000;
  const at::Tensor y = gmm->sample(n, gen).reshape({n, 3});
  const at::Tensor mean = y.mean(0);
  const at::Tensor cov = at::matmul((y - mean).t(), y - mean) / (n - 1);
  const at::Tensor true_cov = gmm->covariance();
  const at::Tensor se_mean = (true_cov.diag() / n).sqrt();
  EXPECT_TRUE(((mean - gmm->mean()).abs() < 5 * se_mean).all().item<bool>()) << mean << gmm->mean();
  EXPECT_LT((cov - true_cov).abs().max().item<double>(), 5 * true_cov.diag().max().item<double>() * std::sqrt(2.0 / n));
}

TEST(GaussianMixtureExpert, BadParameterFilesAreInputErrors) {
  const std::string dir = testing::scratch_dir();
  std::ofstream(dir + "/short.txt") << "gmm 1\nshape 1 1 2\ncomponents 1\nweight 1 mean 0.5\n";
  std::ofstream(dir + "/bad.txt") << "gmm 1\nshape 1 1 2\ncomponents 1\nweight 1 mean 0 0 variance abc\n";
  std::ofstream(dir + "/neg.txt") << "gmm 1\nshape 1 1 2\ncomponents 1\nweight 1 mean 0 0 diagonal -1 1\n";
  EXPECT_THROW(experts::load_expert({"gmm:" + dir + "/missing.txt"}), InputError);
  try {
    experts::load_expert({"gmm:" + dir + "/short.txt"});
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("file ends"), std::string::npos) << e.what();
  }
  EXPECT_THROW(experts::load_expert({"gmm:" + dir + "/bad.txt"}), InputError);
  EXPECT_THROW(experts::load_expert({"gmm:" + dir + "/neg.txt"}), InputError);
}

}  // namespace
}  // namespace switchdiff
