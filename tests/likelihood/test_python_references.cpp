// Likelihood against references computed in /usr/bin/python3 by the test (tests/likelihood/rk45_reference.py,
// score_sde_reference.py): scipy's RK45 step for step, score_sde-style PF-ODE bits/dim on TorchScript experts,
// and batch invariance with a TorchScript network.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>

#include "common/test_support.h"
#include "experts/expert_loader.h"
#include "experts/switched_denoiser.h"
#include "likelihood/dequantization.h"
#include "likelihood/dopri5.h"
#include "likelihood/likelihood_estimate.h"
#include "likelihood/likelihood_test_util.h"
#include "likelihood/pf_ode.h"

namespace switchdiff::likelihood {
namespace {

using testing::read_doubles;
using testing::write_doubles;

class PythonReferenceTest : public ::testing::Test {
 protected:
  void SetUp() override { at::set_num_threads(1); }
  static std::string run_python(const std::string& arguments) {
    const auto result = testing::run_command(fmt::format("OMP_NUM_THREADS=1 {} {}", testing::python(), arguments));
    EXPECT_EQ(result.exit_code, 0) << result.output;
    return result.output;
  }
};

// Damped pendulum, one row per initial condition: y0' = y1, y1' = -sin(y0) - 0.1 t y1.
TEST_F(PythonReferenceTest, Dopri5TakesTheStepsOfScipyRk45) {
  const std::string dir = testing::scratch_dir();
  const at::Tensor initial = at::tensor({0.1, 0.0, 2.0, 0.5, -3.0, 1.5, 0.0, 2.5}, at::kDouble).reshape({4, 2});
  const BatchRhs pendulum = [](const std::vector<int64_t>&, const at::Tensor& t, const at::Tensor& y) {
    at::Tensor out = at::empty_like(y);
    for (int64_t r = 0; r < y.size(0); ++r) {
      const double y0 = y[r][0].item<double>(), y1 = y[r][1].item<double>(), tr = t[r].item<double>();
      out[r][0] = y1;
      out[r][1] = -std::sin(y0) - 0.1 * tr * y1;
    }
    return out;
  };
  at::Tensor y = initial.clone();
  std::vector<StepCounts> counts(4);
  Dopri5Settings s;
  s.rtol = 1e-6;
  s.atol = 1e-8;
  dopri5_integrate(pendulum, y, 0.0, 10.0, s, counts);

  write_doubles(dir + "/initial.f64", initial);
  run_python(
      fmt::format("{0}/tests/likelihood/rk45_reference.py {1}/initial.f64 {1}/scipy.f64", testing::source_dir(), dir));
  const at::Tensor ref = read_doubles(dir + "/scipy.f64").reshape({4, 4});
  for (int64_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(y[i][0].item<double>(), ref[i][0].item<double>(), 1e-12) << "row " << i;
    EXPECT_NEAR(y[i][1].item<double>(), ref[i][1].item<double>(), 1e-12) << "row " << i;
    EXPECT_EQ(counts[i].nfe, static_cast<int64_t>(ref[i][2].item<double>())) << "row " << i;
    EXPECT_EQ(counts[i].accepted, static_cast<int64_t>(ref[i][3].item<double>())) << "row " << i;
  }
}

struct TinyMerge {
  std::shared_ptr<const experts::Denoiser> likelihood, quality;
  std::shared_ptr<experts::SwitchedDenoiser> merged;
  std::string likelihood_path, quality_path;
  double eta = 1.0;
};

TinyMerge tiny_merge() {
  TinyMerge m;
  const std::string dir = testing::tiny_fixtures_dir();
  m.likelihood_path = dir + "/tiny_edm.pt";
  m.quality_path = dir + "/tiny_edm_b.pt";
  m.likelihood = experts::load_expert({m.likelihood_path});
  m.quality = experts::load_expert({m.quality_path});
  m.merged = experts::SwitchedDenoiser::merge(m.quality, m.likelihood, m.eta);
  return m;
}

at::Tensor random_images(int64_t n, uint64_t seed) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randint(0, 256, {n, 1, 8, 8}, g, at::kByte);
}

// Point 4: same experts, images, dequantization and probe noise (exchanged through files) as a score_sde-style
// reference (time variable t, one solve_ivp for the whole batch); and the sigma-variable per-image reference,
// which takes our steps.
TEST_F(PythonReferenceTest, PfOdeBitsPerDimMatchScoreSdeStyleReference) {
  const std::string dir = testing::scratch_dir();
  const TinyMerge m = tiny_merge();
  const int64_t n = 6;
  std::vector<int64_t> indices(n);
  for (int64_t i = 0; i < n; ++i) indices[i] = 100 + i;
  LikelihoodOptions o;
  o.seed = 7;
  o.dequantization = Dequantization::kScoreSde;  // score_sde's bins (k + u) * 2/256 - 1 and offset 7
  LikelihoodNoise noise(indices, m.merged->image_shape(), o);
  const RepeatNoise draw = noise.next();
  const at::Tensor images = random_images(n, 5);
  const at::Tensor y = dequantize(images, draw.dequantization, o.dequantization);
  const PfOdeResult ours = pf_ode_log_density(*m.merged, y, draw.probes, o.ode, indices);
  const at::Tensor bpd = bits_per_dim(ours.log_density, 64, o.dequantization);
  write_doubles(dir + "/y.f64", y);
  write_doubles(dir + "/eps.f64", draw.probes.select(1, 0));
  const std::string common = fmt::format(
      "{}/tests/likelihood/score_sde_reference.py --likelihood {} --quality {} --switch-sigma {} "
      "--data {}/y.f64 --probes {}/eps.f64 --shape {} 1 8 8",
      testing::source_dir(), m.likelihood_path, m.quality_path, m.eta, dir, dir, n);
  // Bounds about 5x the errors measured on this machine (printed below): 1.0e-4 bpd for the t-variable solve of
  // the whole batch (its own steps and tolerance control), 1.7e-5 for the sigma-variable per-image solve.
  struct Mode {
    std::string arguments;
    double max_error_bpd;
  };
  for (const Mode& reference : {Mode{"--variable t", 5e-4}, Mode{"--variable sigma --per-image", 1e-4}}) {
    const std::string& mode = reference.arguments;
    run_python(fmt::format("{} {} --out {}/ref.f64 --out-nfe {}/nfe.f64", common, mode, dir, dir));
    const at::Tensor ref = read_doubles(dir + "/ref.f64");
    const at::Tensor ref_nfe = read_doubles(dir + "/nfe.f64");
    const double worst = (bpd - ref).abs().max().item<double>();
    std::printf("%s: max |ours - reference| = %.3g bpd (bound %.1g; bpd ~ %.3f); NFE ours %.1f, reference %.1f\n",
                mode.c_str(), worst, reference.max_error_bpd, bpd.mean().item<double>(),
                ours.final_state.nfe.to(at::kDouble).mean().item<double>(), ref_nfe.mean().item<double>());
    EXPECT_LT(worst, reference.max_error_bpd) << mode;
  }
}

// Point 3 (TorchScript network): alone vs in a batch of 64 within 1e-6 relative, NLL and ELBO.
TEST_F(PythonReferenceTest, TorchScriptBatchInvariance) {
  const TinyMerge m = tiny_merge();
  const int64_t n = 64;
  std::vector<int64_t> indices(n);
  for (int64_t i = 0; i < n; ++i) indices[i] = i;
  const at::Tensor images = random_images(n, 9);
  LikelihoodOptions o;
  o.elbo_options.samples = 8;
  const LikelihoodEstimate all = estimate_likelihood(*m.merged, images, indices, o);
  for (const int64_t j : {0, 41}) {
    const LikelihoodEstimate one = estimate_likelihood(*m.merged, images.narrow(0, j, 1), {j}, o);
    const double nll = one.nll_bpd.item<double>(), nll_batch = all.nll_bpd[j].item<double>();
    const double elbo = one.elbo_bpd.item<double>(), elbo_batch = all.elbo_bpd[j].item<double>();
    std::printf("image %lld: nll %.9f vs %.9f (rel %.2g), elbo %.9f vs %.9f (rel %.2g), nfe %lld vs %lld\n",
                static_cast<long long>(j), nll, nll_batch, std::abs(nll / nll_batch - 1), elbo, elbo_batch,
                std::abs(elbo / elbo_batch - 1), static_cast<long long>(one.nfe.item<int64_t>()),
                static_cast<long long>(all.nfe[j][0].item<int64_t>()));
    EXPECT_LT(std::abs(nll / nll_batch - 1), 1e-6);
    EXPECT_LT(std::abs(elbo / elbo_batch - 1), 1e-6);
  }
}

}  // namespace
}  // namespace switchdiff::likelihood
