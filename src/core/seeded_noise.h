#pragma once
// Per-sample random streams (docs/sampling.md, docs/likelihood.md). Sample i of a budget owns a CPU generator seeded
// with its own seed, with the semantics of torch.Generator().manual_seed(seed) (EDM's StackedRandomGenerator), so a
// sample's noise never depends on its batch-mates, batch size or rank.
#include <cstdint>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

namespace switchdiff::core {

class SeededNoise {
 public:
  explicit SeededNoise(std::vector<int64_t> seeds);
  // Copies share the generators (a handle, like a reference); clone() copies their states, so the copy draws
  // the same numbers as the original would from here on, independently.
  SeededNoise clone() const;

  int64_t batch_size() const { return static_cast<int64_t>(seeds_.size()); }
  const std::vector<int64_t>& seeds() const { return seeds_; }

  // Standard normal noise [B, per_sample_shape...], row i drawn from generator i exactly as
  // torch.randn(per_sample_shape, generator=g_i, dtype=dtype) would. float32 is torch's default
  // (EDM's initial latents); EDM draws churn noise in float64 (randn_like of the float64 state).
  at::Tensor randn(at::IntArrayRef per_sample_shape, at::ScalarType dtype = at::kFloat);
  // Uniform [0, 1) noise, float32, as torch.rand(per_sample_shape, generator=g_i).
  at::Tensor rand(at::IntArrayRef per_sample_shape);
  // Rademacher (+1/-1) noise, float32: torch.randint(0, 2, shape, generator=g_i) * 2 - 1.
  at::Tensor rademacher(at::IntArrayRef per_sample_shape);

  // Seeds as a readable list for error messages ("0, 1, 2, ... (64 seeds)").
  std::string describe() const;

 private:
  std::vector<int64_t> seeds_;
  std::vector<at::Generator> generators_;
};

// Seeds {base, base+1, ..., base+count-1} for the samples of one batch.
std::vector<int64_t> consecutive_seeds(int64_t base, int64_t count);

}  // namespace switchdiff::core
