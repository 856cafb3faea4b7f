#pragma once
// Small Gaussian mixtures for tests, built in code with a fixed seed.
#include <memory>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "experts/gaussian_mixture_expert.h"

namespace switchdiff::testing {

// K components in shape CxHxW with random means (scale `spread`) and random full covariances
// A A^T / D + floor*I. Deterministic in `seed`.
inline std::shared_ptr<experts::GaussianMixtureExpert> random_mixture(experts::ImageShape shape, int components,
                                                                      uint64_t seed, double spread = 0.6,
                                                                      double floor = 0.01, std::string name = "gmm") {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t d = shape.dims();
  std::vector<experts::GaussianMixtureExpert::Component> list;
  for (int k = 0; k < components; ++k) {
    experts::GaussianMixtureExpert::Component c;
    c.weight = 0.5 + at::rand({1}, generator, at::kDouble).item<double>();
    c.mean = spread * at::randn({d}, generator, at::kDouble);
    const at::Tensor a = 0.3 * at::randn({d, d}, generator, at::kDouble);
    c.covariance = at::matmul(a, a.t()) / static_cast<double>(d) * 0.5 + floor * at::eye(d, at::kDouble);
    list.push_back(std::move(c));
  }
  return std::make_shared<experts::GaussianMixtureExpert>(shape, std::move(list), std::move(name));
}

}  // namespace switchdiff::testing
