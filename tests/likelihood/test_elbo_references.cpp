// ELBO and noise streams against independent Python code run by the test (tests/likelihood/*_reference.py): a
// brute-force numpy Monte Carlo of the diffusion integral with its own mixture denoiser, scipy quadrature of the
// discrete reconstruction term, and torch's generators for the documented noise order (docs/likelihood.md).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>

#include "common/test_support.h"
#include "likelihood/elbo.h"
#include "likelihood/likelihood_noise.h"
#include "likelihood/likelihood_test_util.h"

namespace switchdiff::likelihood {
namespace {

using testing::read_doubles;
using testing::write_doubles;

// Runs tests/likelihood/<script> (a reference written in Python) with /usr/bin/python3.
void run_python(const std::string& script, const std::string& arguments) {
  const auto r = testing::run_command(fmt::format("OMP_NUM_THREADS=1 {} {}/tests/likelihood/{} {}", testing::python(),
                                                  testing::source_dir(), script, arguments));
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

TEST(ElboReferenceTest, DiffusionTermMatchesBruteForceMonteCarlo) {
  at::set_num_threads(1);
  const std::string dir = testing::scratch_dir();
  const testing::TestMixture m = testing::make_test_mixture(1);
  const int64_t n = 4;
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(81);
  const at::Tensor y = m.expert->sample(n, g);
  ElboOptions o;
  o.samples = 512;
  const at::Tensor u = at::rand({n, o.samples}, g, at::kDouble);
  const at::Tensor normal = at::randn({n, o.samples, 1, 2, 2}, g, at::kFloat);
  const DiffusionTerm ours = elbo_diffusion_term(*m.expert, y, 0.002, 80.0, u, normal, o);

  testing::write_mixture_json(dir + "/gmm.json", m);
  write_doubles(dir + "/y.f64", y);
  run_python("elbo_brute_force_reference.py", fmt::format("{0}/gmm.json {0}/y.f64 {0}/brute.f64", dir));
  const at::Tensor ref = read_doubles(dir + "/brute.f64").reshape({n, 2});
  for (int64_t i = 0; i < n; ++i) {
    const double a = ours.value[i].item<double>(), b = ref[i][0].item<double>();
    const double se = std::hypot(ours.standard_error[i].item<double>(), ref[i][1].item<double>());
    std::printf("image %lld: ours %.4f +- %.4f, brute force %.4f +- %.4f (|z| = %.2f)\n", static_cast<long long>(i), a,
                ours.standard_error[i].item<double>(), b, ref[i][1].item<double>(), std::abs(a - b) / se);
    EXPECT_LT(std::abs(a - b), 3 * se) << "image " << i;
  }
}

TEST(ElboReferenceTest, DiscreteReconstructionMatchesScipyQuadrature) {
  const std::string dir = testing::scratch_dir();
  run_python("elbo_quadrature_reference.py", dir + "/quad.f64");
  const at::Tensor ref = read_doubles(dir + "/quad.f64").reshape({2, 4});
  const int ks[] = {0, 1, 128, 255};
  for (int s = 0; s < 2; ++s) {
    const at::Tensor table = discrete_reconstruction_nats(s == 0 ? 0.002 : 0.01);
    for (int i = 0; i < 4; ++i) {
      EXPECT_NEAR(table[ks[i]].item<double>(), ref[s][i].item<double>(), 1e-9) << "k = " << ks[i];
    }
  }
}

// The noise order of likelihood_noise.h, drawn by torch in Python from the documented seeds.
TEST(ElboReferenceTest, NoiseStreamsFollowTheDocumentedTorchCalls) {
  const std::string dir = testing::scratch_dir();
  LikelihoodOptions o;
  o.seed = 1000;
  o.ode.probes = 2;
  o.elbo_options.samples = 4;
  const experts::ImageShape shape{1, 4, 4};
  LikelihoodNoise noise({0, 5}, shape, o);
  noise.skip(1);
  const RepeatNoise r1 = noise.next();
  run_python("noise_streams_reference.py", dir + "/noise.f64");
  const at::Tensor ref = read_doubles(dir + "/noise.f64").reshape({2, -1});
  for (int64_t i = 0; i < 2; ++i) {
    const at::Tensor ours = at::cat({r1.dequantization[i].reshape(-1), r1.probes[i].reshape(-1), r1.elbo_uniform[i],
                                     r1.elbo_normal[i].to(at::kDouble).reshape(-1)});
    EXPECT_TRUE(at::equal(ours, ref[i])) << "image " << i;
  }
}

}  // namespace
}  // namespace switchdiff::likelihood
