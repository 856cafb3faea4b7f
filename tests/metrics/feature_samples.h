#pragma once
// Seeded synthetic "features" for the metrics tests: correlated, shifted, unequal scales, float64.
#include <cstdint>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

namespace switchdiff::testing {

// n samples of dimension f: per-dimension scales in [0.5, 1.5), a rank-8 shared component (so the
// covariance is not diagonal) and a mean drawn from [0, shift).
inline at::Tensor synthetic_features(int64_t n, int64_t f, uint64_t seed, double shift = 1.0) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto options = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor scales = at::rand({f}, g, options) + 0.5;
  const at::Tensor mixing = at::randn({8, f}, g, options) * 0.5;
  const at::Tensor mean = at::rand({f}, g, options) * shift;
  return at::randn({n, f}, g, options) * scales + at::matmul(at::randn({n, 8}, g, options), mixing) + mean;
}

}  // namespace switchdiff::testing
