// The likelihood of a VDM expert against VDM's own definitions, computed in VDM coordinates by
// tests/likelihood/vdm_reference.py (docs/likelihood.md): the ELBO term by term (Kingma et al. 2021) with the same
// network, sigma nodes and noise; and PF-ODE bits/dim with the default bins against i-DODE's dequantization
// 2(k + u)/256 - 1, +7, integrated by scipy with the exact divergence.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "common/test_support.h"
#include "experts/expert_loader.h"
#include "likelihood/dequantization.h"
#include "likelihood/elbo.h"
#include "likelihood/likelihood_estimate.h"
#include "likelihood/likelihood_noise.h"
#include "likelihood/likelihood_test_util.h"

namespace switchdiff::likelihood {
namespace {

using testing::read_doubles;
using testing::write_doubles;

constexpr double kToleranceBpd = 1e-4;

void run_reference(const std::string& arguments) {
  const auto r = testing::run_command(fmt::format("OMP_NUM_THREADS=1 {} {}/tests/likelihood/vdm_reference.py {}",
                                                  testing::python(), testing::source_dir(), arguments));
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

// Per term, in bits/dim. The control variate is off (sigma_data = 0): with it each node's value differs from VDM's
// ||eps - eps_hat||^2 by a mean-zero term, and this test compares node for node. The prior: switchdiff's is the
// variance-exploding KL(N(y, sigma_max^2 I) || N(0, sigma_max^2 I)); VDM's is the variance-preserving
// KL(q(z_1 | f) || N(0, I)), whose N(0, I) on z_1 is N(0, (1 + sigma~_1^2) I) in the VE view x~ = z / alpha. The
// reference computes both: ours must equal the VE form of VDM's model to rounding, and the VP form differs by
// O(D / sigma_max^4) nats, printed and checked to be far below the tolerance at sigma_max = 80.
TEST(VdmReferenceTest, ElboOfVdmExpertEqualsVdmLossTermByTerm) {
  at::set_num_threads(1);
  const std::string dir = testing::scratch_dir();
  const std::string model = testing::tiny_fixtures_dir() + "/tiny_vdm.pt";
  const auto expert = experts::load_expert({model});
  const int64_t n = 3, d = 64;
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(2021);
  at::Tensor images = at::randint(0, 256, {n, 1, 8, 8}, g, at::kByte);
  images.view({-1}).narrow(0, 0, 4).copy_(at::tensor({0, 255, 127, 128}, at::kByte));  // both ends of the grid
  ElboOptions o;
  o.samples = 16;
  o.sigma_data = 0;
  const at::Tensor u = at::rand({n, o.samples}, g, at::kDouble);
  const at::Tensor normal = at::randn({n, o.samples, 1, 8, 8}, g, at::kFloat);
  const double sigma_min = 0.002, sigma_max = 80.0;
  const ElboTerms ours = elbo_discrete(*expert, images, u, normal, sigma_min, sigma_max, o);

  write_doubles(dir + "/k.f64", images.to(at::kDouble));
  write_doubles(dir + "/u.f64", u);
  write_doubles(dir + "/eps.f64", normal.to(at::kDouble));
  run_reference(
      fmt::format("elbo --model {0} --images {1}/k.f64 --uniform {1}/u.f64 --normal {1}/eps.f64 "
                  "--shape {2} 1 8 8 --sigma-min {3} --sigma-max {4} --out {1}/ref.f64",
                  model, dir, n, sigma_min, sigma_max));
  const double to_bpd = 1.0 / (static_cast<double>(d) * std::log(2.0));
  const at::Tensor ref = read_doubles(dir + "/ref.f64").reshape({n, 4}) * to_bpd;
  for (int64_t i = 0; i < n; ++i) {
    const double prior = ours.prior[i].item<double>() * to_bpd;
    const double diffusion = ours.diffusion[i].item<double>() * to_bpd;
    const double reconstruction = ours.reconstruction[i].item<double>() * to_bpd;
    const double vp = ref[i][0].item<double>(), ve = ref[i][1].item<double>();
    const double ref_diffusion = ref[i][2].item<double>(), ref_reconstruction = ref[i][3].item<double>();
    std::printf(
        "image %lld (bpd): prior ours %.9f, VDM VE form %.9f, VDM VP %.9f (VP - VE %.2g); diffusion ours %.6f, "
        "VDM %.6f (diff %.2g); reconstruction ours %.6f, VDM %.6f (diff %.2g); total ours %.6f\n",
        static_cast<long long>(i), prior, ve, vp, vp - ve, diffusion, ref_diffusion, diffusion - ref_diffusion,
        reconstruction, ref_reconstruction, reconstruction - ref_reconstruction, ours.bpd()[i].item<double>());
    EXPECT_NEAR(prior, ve, 1e-12) << "image " << i;
    EXPECT_NEAR(prior, vp, kToleranceBpd / 100) << "image " << i << ": the VE/VP prior gap is O(sigma_max^-4)";
    EXPECT_NEAR(diffusion, ref_diffusion, kToleranceBpd) << "image " << i;
    EXPECT_NEAR(reconstruction, ref_reconstruction, kToleranceBpd) << "image " << i;
    EXPECT_NEAR(ours.bpd()[i].item<double>(), ve + ref_diffusion + ref_reconstruction, kToleranceBpd) << "image " << i;
  }
}

// PF-ODE bits/dim of an exact Gaussian mixture behind a VDM interface (1x2x2, exact divergence), same u. The default
// bins equal i-DODE's convention in VDM coordinates; score_sde's bins sit up to half a bin off (the printed shift).
// The reference's prior is the VE one, N(0, sigma~_max^2 I) in x~ = z / alpha, as ours; the VP prior N(0, I) on
// z_T differs by about (||x~||^2 / sigma~^2 - D) / (2 sigma~^2) nats (~1e-4 bpd here): printed, not compared.
TEST(VdmReferenceTest, PfOdeBitsPerDimOfVdmExpertMatchIdodeDequantization) {
  at::set_num_threads(1);
  const std::string dir = testing::scratch_dir();
  const std::string model = testing::tiny_fixtures_dir() + "/gmm_eps_vdm.pt";
  const auto expert = experts::load_expert({model});
  const int64_t n = 3;
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(4);
  const at::Tensor images = at::randint(48, 208, {n, 1, 2, 2}, g, at::kByte);
  const std::vector<int64_t> indices = {0, 1, 2};
  LikelihoodOptions o;
  o.elbo = false;
  o.seed = 31;
  o.ode.divergence = Divergence::kExact;
  o.ode.rtol = o.ode.atol = 1e-8;
  LikelihoodNoise noise(indices, expert->image_shape(), o);
  const RepeatNoise draw = noise.next();
  const RepeatEstimate grid = estimate_likelihood_repeat(*expert, images, indices, draw, o);
  LikelihoodOptions score_sde = o;
  score_sde.dequantization = Dequantization::kScoreSde;
  const RepeatEstimate shifted = estimate_likelihood_repeat(*expert, images, indices, draw, score_sde);

  write_doubles(dir + "/k.f64", images.to(at::kDouble));
  write_doubles(dir + "/u.f64", draw.dequantization);
  run_reference(
      fmt::format("pf-ode --model {0} --images {1}/k.f64 --uniform {1}/u.f64 --shape {2} 1 2 2 "
                  "--sigma-min {3} --sigma-max {4} --rtol 1e-8 --atol 1e-8 --out {1}/ref.f64",
                  model, dir, n, o.ode.sigma_min, o.ode.sigma_max));
  const at::Tensor ref = read_doubles(dir + "/ref.f64").reshape({n, 3});
  double largest_shift = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double ours = grid.nll_bpd[i].item<double>(), theirs = ref[i][0].item<double>();
    const double shift = shifted.nll_bpd[i].item<double>() - theirs;
    std::printf(
        "image %lld: grid %.7f, i-DODE reference %.7f (diff %.2g; with VP prior %.7f); score_sde %.7f (shift %+.5f "
        "bpd); NFE ours %lld, reference steps %.0f\n",
        static_cast<long long>(i), ours, theirs, ours - theirs, ref[i][1].item<double>(),
        shifted.nll_bpd[i].item<double>(), shift, static_cast<long long>(grid.nfe[i].item<int64_t>()),
        ref[i][2].item<double>());
    EXPECT_NEAR(ours, theirs, kToleranceBpd) << "image " << i;
    largest_shift = std::max(largest_shift, std::abs(shift));
  }
  EXPECT_GT(largest_shift, 10 * kToleranceBpd) << "the reference must tell the two bin conventions apart";
}

}  // namespace
}  // namespace switchdiff::likelihood
