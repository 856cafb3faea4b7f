#pragma once
// Shared by the likelihood tests: small Gaussian mixtures with a closed-form reference drift (independent of
// GaussianMixtureExpert's eigendecomposition and of autograd), and raw float64 file exchange with Python.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "experts/denoiser.h"
#include "experts/gaussian_mixture_expert.h"

namespace switchdiff::testing {

// A mixture over [1, 2, 2] images (D = 4) with `components` full-covariance components drawn from `seed`:
// means in [-0.6, 0.6], covariances A A^T * scale^2 + 0.01 I.
struct TestMixture {
  std::vector<experts::GaussianMixtureExpert::Component> components;
  std::shared_ptr<experts::GaussianMixtureExpert> expert;
};
TestMixture make_test_mixture(uint64_t seed, int components = 3, double scale = 0.15);

// Closed-form D(x; sigma) and tr(dD/dx) of a mixture, float64, for x [B, D] all at one sigma:
//   D = sum_k r_k mu_k, mu_k = m_k + S_k C_k^-1 (x - m_k), C_k = S_k + sigma^2 I,
//   tr dD/dx = sum_k r_k tr(S_k C_k^-1) + sum_k r_k mu_k . (a_k - sum_j r_j a_j), a_k = -C_k^-1 (x - m_k).
void reference_mixture_drift(const TestMixture& mixture, const at::Tensor& x, double sigma, at::Tensor* denoised,
                             at::Tensor* trace);

// Reference PF-ODE by fixed-step float64 RK4 in log sigma over [sigma_lo, sigma_hi] (dx/dlog s = x - D,
// dl/dlog s = D - tr dD/dx). x0 [B, D]; returns x at sigma_hi in *x_end and the integral of div f.
at::Tensor reference_rk4_band(const TestMixture& mixture, const at::Tensor& x0, double sigma_lo, double sigma_hi,
                              int64_t steps, at::Tensor* x_end);

// Raw little-endian float64 files (numpy.fromfile(path, dtype="<f8")).
void write_doubles(const std::string& path, const at::Tensor& values);
at::Tensor read_doubles(const std::string& path);

// Writes a mixture as JSON {"weights": [...], "means": [[...]], "covariances": [[[...]]]} for Python references.
void write_mixture_json(const std::string& path, const TestMixture& mixture);

}  // namespace switchdiff::testing
