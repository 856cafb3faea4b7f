#pragma once
// The random numbers of a likelihood evaluation, per image (docs/likelihood.md#random-numbers): the seed
// nll_seed + j and the repeat r decide image j's dequantization, probes and ELBO nodes. Image j owns one torch CPU
// generator seeded with nll_seed + j (core::SeededNoise; torch's mt19937 keeps the low 32 bits of a seed, so seeds are
// taken mod 2^32). Repeat r uses the continuation of that stream: the draws of repeats 0 .. r-1 come first. Each repeat
// draws, in this order, as torch calls on the image's generator g:
//   1. dequantization  u  = torch.rand([C, H, W], generator=g)
//   2. probes          rademacher: torch.randint(0, 2, [K, C, H, W], generator=g) * 2 - 1
//                      gaussian:   torch.randn([K, C, H, W], generator=g)
//   3. ELBO nodes      torch.rand([M], generator=g), then torch.randn([M, C, H, W], generator=g)
// All three are drawn whatever the divergence method and whether the ELBO is on, so repeat 0's
// dequantization never depends on any option, and a repeat's noise depends only on (seed, j, r, K, probe, M):
// never on the batch, the rank count, or the divergence method.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "core/seeded_noise.h"
#include "experts/denoiser.h"
#include "likelihood/likelihood_options.h"

namespace switchdiff::likelihood {

struct RepeatNoise {
  at::Tensor dequantization;  // float64 [B, C, H, W], U[0, 1)
  at::Tensor probes;          // float64 [B, K, C, H, W]
  at::Tensor elbo_uniform;    // float64 [B, M], U[0, 1): position of each log-sigma node in its stratum
  at::Tensor elbo_normal;     // float32 [B, M, C, H, W], N(0, I): the noise n of each node
};

class LikelihoodNoise {
 public:
  // indices: the images' dataset indices j (seed = options.seed + j).
  LikelihoodNoise(const std::vector<int64_t>& indices, experts::ImageShape shape, const LikelihoodOptions& options);
  // The noise of the next repeat (0, 1, 2, ...).
  RepeatNoise next();
  // Draws and discards n repeats (to resume at repeat n).
  void skip(int64_t n);
  int64_t next_repeat() const { return next_repeat_; }

 private:
  core::SeededNoise stream_;
  experts::ImageShape shape_;
  int64_t probes_;
  Probe probe_;
  int64_t elbo_samples_;
  int64_t next_repeat_ = 0;
};

}  // namespace switchdiff::likelihood
