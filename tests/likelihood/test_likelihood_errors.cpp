// Bad inputs give clear errors (the key or file, the value, what is allowed; docs/style.md#errors), and
// dequantization / noise streams follow docs/likelihood.md#random-numbers.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "likelihood/dequantization.h"
#include "likelihood/likelihood_estimate.h"
#include "likelihood/likelihood_noise.h"
#include "likelihood/likelihood_test_util.h"
#include "likelihood/pf_ode.h"

namespace switchdiff::likelihood {
namespace {

using testing::make_test_mixture;

// Expects `body` to throw E whose message contains every one of `parts`.
template <class E, class F>
void expect_error(F body, std::initializer_list<std::string> parts) {
  try {
    body();
    ADD_FAILURE() << "no exception";
  } catch (const E& e) {
    const std::string what = e.what();
    for (const auto& p : parts) EXPECT_NE(what.find(p), std::string::npos) << "'" << p << "' not in: " << what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

// The mixture's D, but NaN for every image once sigma > 0.1 (a broken expert at high noise).
class NanAboveDenoiser final : public experts::Denoiser {
 public:
  explicit NanAboveDenoiser(std::shared_ptr<const experts::Denoiser> inner) : inner_(std::move(inner)) {}
  at::Tensor denoise(const at::Tensor& x, const at::Tensor& sigma) const override {
    const at::Tensor d = inner_->denoise(x, sigma);
    const at::Tensor bad = (sigma > 0.1).reshape({-1, 1, 1, 1});
    return at::where(bad, at::full_like(d, std::numeric_limits<double>::quiet_NaN()), d);
  }
  experts::SigmaRange trained_range() const override { return {0.5, 80}; }
  experts::ImageShape image_shape() const override { return inner_->image_shape(); }
  std::string name() const override { return "nan-above-0.1"; }

 private:
  std::shared_ptr<const experts::Denoiser> inner_;
};

class LikelihoodErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override { at::set_num_threads(1); }
  testing::TestMixture m = make_test_mixture(1);
  at::Tensor images = at::randint(0, 256, {2, 1, 2, 2}, at::kByte);
};

TEST_F(LikelihoodErrorsTest, DatasetShapeOrChannelsDifferFromExpert) {
  LikelihoodOptions o;
  expect_error<InputError>(
      [&] {
        check_likelihood_inputs(*m.expert, at::zeros({2, 1, 8, 8}, at::kByte), o, "d.h5");
      },
      {"d.h5", "2x1x8x8", "1x2x2"});
  expect_error<InputError>(
      [&] {
        check_likelihood_inputs(*m.expert, at::zeros({2, 3, 2, 2}, at::kByte), o, "d.h5");
      },
      {"2x3x2x2", "1x2x2"});
}

TEST_F(LikelihoodErrorsTest, NonUint8Data) {
  LikelihoodOptions o;
  expect_error<InputError>([&] { check_likelihood_inputs(*m.expert, images.to(at::kFloat), o, "d.h5"); },
                           {"d.h5", "uint8", "Float"});
}

TEST_F(LikelihoodErrorsTest, SigmaRangeAndTolerances) {
  LikelihoodOptions o;
  o.ode.sigma_min = 80;
  expect_error<ConfigError>([&] { check_likelihood_inputs(*m.expert, images, o, "d"); }, {"sigma_min = 80"});
  o.ode.sigma_min = 1;
  o.ode.sigma_max = 1;
  expect_error<ConfigError>(
      [&] {
        pf_ode_log_density(*m.expert, at::zeros({1, 1, 2, 2}), {}, o.ode);
      },
      {"sigma_min < sigma_max"});
  for (const double rtol : {0.0, -1e-5}) {
    PfOdeOptions p;
    p.rtol = rtol;
    expect_error<ConfigError>([&] { p.validate(); }, {"rtol", "> 0"});
  }
  PfOdeOptions p;
  p.probes = 0;
  expect_error<ConfigError>([&] { p.validate(); }, {"probes"});
  ElboOptions e;
  e.samples = 7;
  expect_error<ConfigError>([&] { e.validate(); }, {"even"});
  expect_error<ConfigError>([] { parse_divergence("approximate"); }, {"hutchinson or exact"});
  expect_error<ConfigError>([] { parse_probe("uniform"); }, {"rademacher or gaussian"});
}

TEST_F(LikelihoodErrorsTest, ExpertOutsideItsTrainedRange) {
  LikelihoodOptions o;
  const NanAboveDenoiser narrow(m.expert);  // trained for [0.5, 80]
  expect_error<ConfigError>([&] { check_likelihood_inputs(narrow, images, o, "d"); }, {"nan-above-0.1", "0.002"});
}

TEST_F(LikelihoodErrorsTest, StepUnderflowNamesImageAndSigma) {
  PfOdeOptions o;
  o.divergence = Divergence::kExact;
  o.min_step = 1.0;  // no step this large can meet rtol near sigma_min
  expect_error<InputError>(
      [&] {
        pf_ode_log_density(*m.expert, at::full({2, 1, 2, 2}, 0.3), {}, o, {7, 8});
      },
      {"image 7", "sigma = 0.002", "underflow"});
}

TEST_F(LikelihoodErrorsTest, NanInDriftNamesImageAndSigma) {
  const NanAboveDenoiser broken(m.expert);
  PfOdeOptions o;
  o.divergence = Divergence::kExact;
  expect_error<InputError>(
      [&] {
        pf_ode_log_density(broken, at::full({2, 1, 2, 2}, 0.3), {}, o, {5, 6});
      },
      {"image 5", "sigma = ", "non-finite", "nan-above-0.1"});
}

TEST(DequantizationTest, ScoreSdeFormula) {
  const at::Tensor k = at::tensor({0, 127, 128, 255}, at::kByte).reshape({1, 1, 2, 2});
  const at::Tensor zero = at::zeros({1, 1, 2, 2}, at::kDouble);
  const at::Tensor almost_one = at::full({1, 1, 2, 2}, std::nextafter(1.0f, 0.0f), at::kFloat);  // torch.rand's max
  const Dequantization s = Dequantization::kScoreSde;
  EXPECT_TRUE(at::equal(dequantize(k, zero, s).reshape(-1), at::tensor({-1.0, -1.0 / 128, 0.0, 254.0 / 256})));
  EXPECT_LT(dequantize(k, almost_one, s).max().item<double>(), 1.0);
  EXPECT_EQ(bin_width(s), 2.0 / 256);
  EXPECT_EQ(bpd_offset(s), 7.0);
  // log p = 0 -> 7 bits/dim; log p = -D ln 2 -> 8.
  EXPECT_DOUBLE_EQ(bits_per_dim(at::zeros({1}, at::kDouble), 4, s).item<double>(), 7.0);
  EXPECT_DOUBLE_EQ(bits_per_dim(at::full({1}, -4 * std::log(2.0), at::kDouble), 4, s).item<double>(), 8.0);
  EXPECT_NE(bpd_formula(s).find("+ 7 with y = (k + u) * 2/256 - 1"), std::string::npos) << bpd_formula(s);
}

// The default: bins of width 2/255 centred on the experts' training grid x_k = k/127.5 - 1 (dequantization.h).
TEST(DequantizationTest, GridBinsAreCentredOnTheTrainingGrid) {
  const at::Tensor k = at::tensor({0, 127, 128, 255}, at::kByte).reshape({1, 1, 2, 2});
  const at::Tensor grid = at::tensor({-1.0, -1.0 / 255, 1.0 / 255, 1.0}, at::kDouble);
  const Dequantization g = Dequantization::kGrid;
  EXPECT_TRUE(at::allclose(pixel_bin_centres(k).reshape(-1), grid, 0, 1e-15));
  const at::Tensor half = at::full({1, 1, 2, 2}, 0.5, at::kDouble);
  EXPECT_TRUE(at::allclose(dequantize(k, half, g).reshape(-1), grid, 0, 1e-15));  // u = 1/2: the centre
  const at::Tensor lower = dequantize(k, at::zeros({1, 1, 2, 2}, at::kDouble), g).reshape(-1);
  const at::Tensor upper = dequantize(k, at::ones({1, 1, 2, 2}, at::kDouble), g).reshape(-1);
  EXPECT_TRUE(at::allclose(upper - lower, at::full({4}, 2.0 / 255, at::kDouble), 0, 1e-15));
  EXPECT_TRUE(at::allclose(lower, grid - 1.0 / 255, 0, 1e-15));
  EXPECT_EQ(bin_width(g), 2.0 / 255);
  EXPECT_EQ(kPixelSpacing, 2.0 / 255);
  EXPECT_NEAR(bpd_offset(g), 6.994353436858858, 1e-14);  // log2(127.5)
  EXPECT_DOUBLE_EQ(bits_per_dim(at::zeros({1}, at::kDouble), 4, g).item<double>(), std::log2(127.5));
  // In VDM coordinates (c = 127.5/128) the bins are i-DODE's 2(k + u)/256 - 1.
  const at::Tensor u = at::tensor({0.0, 0.25, 0.5, 0.999}, at::kDouble).reshape({1, 1, 2, 2});
  const at::Tensor idode = (k.to(at::kDouble) + u) * (2.0 / 256) - 1;
  EXPECT_TRUE(at::allclose(dequantize(k, u, g) * (127.5 / 128), idode, 0, 1e-15));
  EXPECT_NE(bpd_formula(g).find("log2(127.5) (= 6.99435) with y = (k + u - 1/2)/127.5 - 1"), std::string::npos)
      << bpd_formula(g);
  EXPECT_NE(bpd_formula(g).find("k/127.5 - 1"), std::string::npos);
}

TEST(DequantizationTest, ParseListsTheAllowedValues) {
  EXPECT_EQ(parse_dequantization("grid"), Dequantization::kGrid);
  EXPECT_EQ(parse_dequantization("score_sde"), Dequantization::kScoreSde);
  EXPECT_EQ(to_string(Dequantization::kGrid), "grid");
  EXPECT_EQ(to_string(Dequantization::kScoreSde), "score_sde");
  EXPECT_EQ(LikelihoodOptions{}.dequantization, Dequantization::kGrid);
  expect_error<ConfigError>([] { parse_dequantization("vdm"); }, {"nll.dequantization", "'vdm'", "grid", "score_sde"});
}

TEST(LikelihoodNoiseTest, PerImageStreamsIndependentOfBatchAndRepeatsContinue) {
  LikelihoodOptions o;
  o.ode.probes = 2;
  o.elbo_options.samples = 4;
  const experts::ImageShape shape{1, 2, 2};
  LikelihoodNoise batch({3, 4, 5}, shape, o);
  LikelihoodNoise alone({4}, shape, o);
  const RepeatNoise b0 = batch.next(), a0 = alone.next();
  EXPECT_TRUE(at::equal(b0.dequantization[1], a0.dequantization[0]));
  EXPECT_TRUE(at::equal(b0.probes[1], a0.probes[0]));
  EXPECT_TRUE(at::equal(b0.elbo_normal[1], a0.elbo_normal[0]));
  EXPECT_TRUE(at::all(b0.probes.abs() == 1).item<bool>());
  const RepeatNoise b1 = batch.next();
  EXPECT_FALSE(at::equal(b1.dequantization, b0.dequantization));
  LikelihoodNoise resumed({3, 4, 5}, shape, o);
  resumed.skip(1);
  EXPECT_TRUE(at::equal(resumed.next().dequantization, b1.dequantization));
  // Another seed gives other noise.
  o.seed = 1;
  EXPECT_FALSE(at::equal(LikelihoodNoise({3, 4, 5}, shape, o).next().dequantization, b0.dequantization));
}

}  // namespace
}  // namespace switchdiff::likelihood
