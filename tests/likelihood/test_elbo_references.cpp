// ELBO and noise streams against independent Python code run in the test (issue 3, point 5): a brute-force
// numpy Monte Carlo of the diffusion integral with its own mixture denoiser, scipy quadrature of the discrete
// reconstruction term, and torch's generators for the documented noise order (docs/likelihood.md).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "common/test_support.h"
#include "likelihood/elbo.h"
#include "likelihood/likelihood_noise.h"
#include "likelihood/likelihood_test_util.h"

namespace switchdiff::likelihood {
namespace {

using testing::read_doubles;
using testing::write_doubles;

void run_python(const std::string& script_path, const std::string& script, const std::string& arguments) {
  std::ofstream(script_path) << script;
  const auto r =
      testing::run_command(fmt::format("OMP_NUM_THREADS=1 {} {} {}", testing::python(), script_path, arguments));
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
  run_python(dir + "/brute.py", R"(import json, sys, numpy as np
mix = json.load(open(sys.argv[1])); y = np.fromfile(sys.argv[2], dtype="<f8").reshape(-1, 4)
w = np.array(mix["weights"]); w = w / w.sum()
means = np.array(mix["means"]).reshape(len(w), 4); covs = np.array(mix["covariances"]).reshape(len(w), 4, 4)
rng = np.random.default_rng(2024); S = 200000; lo, hi = np.log(0.002), np.log(80.0)
out = []
for yi in y:
    log_s = rng.uniform(lo, hi, S); s2 = np.exp(2 * log_s); x = yi + np.exp(log_s)[:, None] * rng.standard_normal((S, 4))
    logj, post = [], []
    for k in range(len(w)):
        C = covs[k][None] + s2[:, None, None] * np.eye(4)[None]           # [S, 4, 4]
        r = x - means[k]
        sol = np.linalg.solve(C, r[:, :, None])[:, :, 0]                   # C^-1 r
        logj.append(np.log(w[k]) - 0.5 * (4 * np.log(2 * np.pi) + np.linalg.slogdet(C)[1] + (r * sol).sum(1)))
        post.append(means[k] + (covs[k][None] @ sol[:, :, None])[:, :, 0])  # m + S C^-1 r
    logj = np.stack(logj, 1); resp = np.exp(logj - logj.max(1, keepdims=True)); resp /= resp.sum(1, keepdims=True)
    D = (resp[:, :, None] * np.stack(post, 1)).sum(1)
    f = (hi - lo) * ((yi - D) ** 2).sum(1) / s2
    out += [f.mean(), f.std() / np.sqrt(S)]
np.array(out, dtype="<f8").tofile(sys.argv[3])
)",
             fmt::format("{0}/gmm.json {0}/y.f64 {0}/brute.f64", dir));
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
  run_python(dir + "/quad.py", R"(import sys, numpy as np
from scipy.integrate import quad
g = np.arange(256) / 127.5 - 1; out = []  # the experts' training grid (dequantization.h)
for sigma in (0.002, 0.01):
    for k in (0, 1, 128, 255):
        d = (g[k] - g) / sigma
        def f(n):
            e = -n * d - 0.5 * d * d; m = e.max()
            return np.exp(-0.5 * n * n) / np.sqrt(2 * np.pi) * (m + np.log(np.exp(e - m).sum()))
        out.append(quad(f, -12, 12, limit=400, epsabs=1e-13)[0])
np.array(out, dtype="<f8").tofile(sys.argv[1])
)",
             dir + "/quad.f64");
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
  run_python(dir + "/noise.py", R"(import sys, torch
out = []
for j in (0, 5):
    g = torch.Generator().manual_seed(1000 + j)
    for r in range(2):
        u = torch.rand([1, 4, 4], generator=g)
        p = torch.randint(0, 2, [2, 1, 4, 4], generator=g) * 2 - 1
        eu = torch.rand([4], generator=g)
        en = torch.randn([4, 1, 4, 4], generator=g)
    out += [u.double().reshape(-1), p.double().reshape(-1), eu.double(), en.double().reshape(-1)]
torch.cat(out).numpy().astype("<f8").tofile(sys.argv[1])
)",
             dir + "/noise.f64");
  const at::Tensor ref = read_doubles(dir + "/noise.f64").reshape({2, -1});
  for (int64_t i = 0; i < 2; ++i) {
    const at::Tensor ours = at::cat({r1.dequantization[i].reshape(-1), r1.probes[i].reshape(-1), r1.elbo_uniform[i],
                                     r1.elbo_normal[i].to(at::kDouble).reshape(-1)});
    EXPECT_TRUE(at::equal(ours, ref[i])) << "image " << i;
  }
}

}  // namespace
}  // namespace switchdiff::likelihood
