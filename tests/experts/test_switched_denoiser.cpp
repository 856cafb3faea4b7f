// Pins the switch rule of docs/experts.md: sigma > eta -> quality expert, sigma <= eta -> likelihood expert,
// decided per image and per call; and the checks that guard it.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <limits>

#include "core/error.h"
#include "experts/gmm_helpers.h"
#include "common/recording_denoiser.h"
#include "experts/switched_denoiser.h"

namespace switchdiff {
namespace {

using experts::SwitchedDenoiser;
using testing::RecordingDenoiser;

TEST(SwitchedDenoiser, SwitchRuleIncludingSigmaEqualToEta) {
  auto quality = std::make_shared<RecordingDenoiser>("quality", 2.0);
  auto likelihood = std::make_shared<RecordingDenoiser>("likelihood", 3.0);
  const double eta = 0.5;
  auto merged = SwitchedDenoiser::merge(quality, likelihood, eta);
  const std::vector<double> sigmas{0.002, 0.4999999, 0.5, std::nextafter(0.5, 1.0), 0.7, 80.0};
  const at::Tensor x = at::ones({6, 1, 2, 2}, at::kDouble);
  const at::Tensor out = merged->denoise(x, at::tensor(sigmas, at::kDouble));
  EXPECT_EQ(likelihood->seen(), (std::vector<double>{0.002, 0.4999999, 0.5}));
  EXPECT_EQ(quality->seen(), (std::vector<double>{std::nextafter(0.5, 1.0), 0.7, 80.0}));
  // Outputs come back in the caller's order.
  const std::vector<double> expected_scale{3, 3, 3, 2, 2, 2};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[i][0][0][0].item<double>(), expected_scale[i]) << i;
  EXPECT_EQ(merged->usage(0).images, 3);
  EXPECT_EQ(merged->usage(1).images, 3);
  EXPECT_EQ(merged->usage(0).calls, 1);
}

TEST(SwitchedDenoiser, WholeBatchInOneBandIsOneCall) {
  auto quality = std::make_shared<RecordingDenoiser>("quality", 2.0);
  auto likelihood = std::make_shared<RecordingDenoiser>("likelihood", 3.0);
  auto merged = SwitchedDenoiser::merge(quality, likelihood, 1.0);
  merged->denoise(at::ones({4, 1, 2, 2}), at::full({4}, 5.0));
  merged->denoise(at::ones({4, 1, 2, 2}), at::full({4}, 1.0));
  EXPECT_EQ(merged->usage(1).calls, 1);
  EXPECT_EQ(merged->usage(1).images, 4);
  EXPECT_EQ(merged->usage(0).calls, 1);
  EXPECT_EQ(merged->band_of(1.0), 0u);
  EXPECT_EQ(merged->band_of(1.0000001), 1u);
}

TEST(SwitchedDenoiser, EtaZeroAndHugeAreThePureExperts) {
  auto quality = std::make_shared<RecordingDenoiser>("quality", 2.0);
  auto likelihood = std::make_shared<RecordingDenoiser>("likelihood", 3.0);
  auto all_quality = SwitchedDenoiser::merge(quality, likelihood, 0.0);
  auto all_likelihood = SwitchedDenoiser::merge(quality, likelihood, 1e6);
  const at::Tensor sigmas = at::tensor({0.002, 1.0, 80.0}, at::kDouble);
  EXPECT_TRUE(all_quality->denoise(at::ones({3, 1, 2, 2}), sigmas).eq(2).all().item<bool>());
  EXPECT_TRUE(all_likelihood->denoise(at::ones({3, 1, 2, 2}), sigmas).eq(3).all().item<bool>());
}

TEST(SwitchedDenoiser, ThreeExpertChain) {
  auto low = std::make_shared<RecordingDenoiser>("low", 1.0);
  auto mid = std::make_shared<RecordingDenoiser>("mid", 2.0);
  auto high = std::make_shared<RecordingDenoiser>("high", 3.0);
  // Constructor order = merge() order: from the highest noise down, switch sigmas descending.
  SwitchedDenoiser chain({high, mid, low}, {1.0, 0.1});
  EXPECT_EQ(chain.switch_sigmas(), (std::vector<double>{0.1, 1.0}));  // reported ascending
  EXPECT_EQ(chain.expert(0).name(), "low");                           // band 0 = the lowest noise
  const at::Tensor out = chain.denoise(at::ones({5, 1, 2, 2}), at::tensor({0.05, 0.1, 0.5, 1.0, 2.0}, at::kDouble));
  EXPECT_EQ(low->seen(), (std::vector<double>{0.05, 0.1}));
  EXPECT_EQ(mid->seen(), (std::vector<double>{0.5, 1.0}));
  EXPECT_EQ(high->seen(), (std::vector<double>{2.0}));
  EXPECT_EQ(out.select(1, 0).select(1, 0).select(1, 0).to(at::kDouble).sum().item<double>(), 1 + 1 + 2 + 2 + 3);
}

TEST(SwitchedDenoiser, GradientFlowsThroughMixedBatches) {
  // The likelihood's divergence needs autograd through the split-and-reassemble path.
  auto a = testing::random_mixture({1, 2, 2}, 2, 1);
  auto b = testing::random_mixture({1, 2, 2}, 2, 2);
  auto merged = SwitchedDenoiser::merge(a, b, 0.5);
  at::Tensor x = at::randn({4, 1, 2, 2}, at::kDouble).requires_grad_(true);
  const at::Tensor sigma = at::tensor({0.1, 1.0, 0.3, 2.0}, at::kDouble);
  merged->denoise(x, sigma).sum().backward();
  at::Tensor expected = at::zeros_like(x);
  for (int i = 0; i < 4; ++i) {
    at::Tensor xi = x.detach()[i].unsqueeze(0).clone().requires_grad_(true);
    const auto& expert = sigma[i].item<double>() > 0.5 ? *a : *b;
    expert.denoise(xi, sigma[i].unsqueeze(0)).sum().backward();
    expected[i] = xi.grad()[0];
  }
  EXPECT_LT((x.grad() - expected).abs().max().item<double>(), 1e-12);
}

class NanDenoiser final : public experts::Denoiser {
 public:
  at::Tensor denoise(const at::Tensor& x, const at::Tensor& sigma) const override {
    return at::where(sigma.reshape({-1, 1, 1, 1}) < 1.0, at::full_like(x, std::nan("")), x);
  }
  experts::SigmaRange trained_range() const override { return {0, 100}; }
  experts::ImageShape image_shape() const override { return {1, 2, 2}; }
  std::string name() const override { return "models/broken.pt"; }
};

TEST(SwitchedDenoiser, NonFiniteOutputNamesExpertAndSigma) {
  auto merged = SwitchedDenoiser::merge(std::make_shared<RecordingDenoiser>("quality", 1.0),
                                        std::make_shared<NanDenoiser>(), 2.0);
  try {
    merged->denoise(at::ones({2, 1, 2, 2}), at::tensor({0.25, 5.0}, at::kDouble));
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("models/broken.pt"), std::string::npos) << what;
    EXPECT_NE(what.find("0.25"), std::string::npos) << what;
    EXPECT_NE(what.find("non-finite"), std::string::npos) << what;
  }
}

TEST(SwitchedDenoiser, RejectsBadEtaAndShapeMismatch) {
  auto q = std::make_shared<RecordingDenoiser>("quality", 1.0);
  auto l = std::make_shared<RecordingDenoiser>("likelihood", 1.0);
  EXPECT_THROW(SwitchedDenoiser::merge(q, l, -0.1), ConfigError);
  EXPECT_THROW(SwitchedDenoiser::merge(q, l, std::nan("")), ConfigError);
  EXPECT_THROW(SwitchedDenoiser::merge(q, l, std::numeric_limits<double>::infinity()), ConfigError);
  auto rgb = std::make_shared<RecordingDenoiser>("rgb", 1.0, experts::ImageShape{3, 2, 2});
  try {
    SwitchedDenoiser::merge(rgb, l, 0.5);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("3x2x2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(SwitchedDenoiser({q, l}, {0.5, 1.0}), ConfigError);
  // Three experts with ascending (wrong-order) switch sigmas: refused, never silently reordered.
  auto m = std::make_shared<RecordingDenoiser>("mid", 1.5);
  EXPECT_THROW(SwitchedDenoiser({q, m, l}, {0.5, 1.0}), ConfigError);
  EXPECT_NO_THROW(SwitchedDenoiser({q, m, l}, {1.0, 0.5}));
}

TEST(SwitchedDenoiser, TrainedRangeCheck) {
  auto q =
      std::make_shared<RecordingDenoiser>("quality", 1.0, experts::ImageShape{1, 2, 2}, experts::SigmaRange{0.5, 80});
  auto l = std::make_shared<RecordingDenoiser>("likelihood", 1.0, experts::ImageShape{1, 2, 2},
                                               experts::SigmaRange{0.002, 10});
  EXPECT_NO_THROW(SwitchedDenoiser::merge(q, l, 1.0)->check_trained_range(0.002, 80, "fix"));
  EXPECT_NO_THROW(SwitchedDenoiser::merge(q, l, 0.5)->check_trained_range(0.002, 80, "fix"));
  // eta = 0.1: the quality expert would serve (0.1, 80] but knows only [0.5, 80].
  EXPECT_THROW(SwitchedDenoiser::merge(q, l, 0.1)->check_trained_range(0.002, 80, "fix"), ConfigError);
  // eta = 20: the likelihood expert would serve up to 20 but knows only up to 10.
  EXPECT_THROW(SwitchedDenoiser::merge(q, l, 20)->check_trained_range(0.002, 80, "fix"), ConfigError);
}

}  // namespace
}  // namespace switchdiff
