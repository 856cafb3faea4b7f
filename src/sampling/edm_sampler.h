#pragma once
// EDM's deterministic/stochastic sampler (Karras et al. 2022, Alg. 2; NVlabs edm_sampler) over any
// Denoiser, in float64 state (network input cast to float32 by the expert), SPEC §3.
//   Heun: 2nd order, Euler on the last step (sigma_N = 0). Euler: first order throughout.
//   Churn: gamma_i = min(S_churn/N, sqrt(2)-1) for sigma_i in [S_min, S_max], noise from each image's
//   own generator, so a sample depends only on its seed and the options.
// Heun and Euler share one loop: they differ by the correction step alone, and one file keeps the
// algorithm readable top to bottom (STYLE.md §1 suggests heun.cpp + euler.cpp; this is simpler).
#include <cstdint>
#include <limits>

#include <ATen/core/Tensor.h>

#include "core/seeded_noise.h"
#include "experts/denoiser.h"
#include "sampling/sigma_schedule.h"

namespace switchdiff::sampling {

enum class Solver { kHeun, kEuler };

struct SamplerOptions {
  Solver solver = Solver::kHeun;
  ScheduleOptions schedule;
  double churn = 0.0;  // S_churn
  double s_min = 0.0;
  double s_max = std::numeric_limits<double>::infinity();
  double s_noise = 1.0;
};

// Number of denoiser evaluations per image for these options (Heun: 2N - 1, Euler: N).
int64_t evaluations_per_sample(const SamplerOptions& options);

// latents: standard normal [B,C,H,W] (any float dtype; scaled by sigma_0 inside, as EDM does).
// noise: the batch's per-image generators (churn noise). Returns the final state y, float64.
// nfe, when given, is increased by the evaluations per image.
at::Tensor sample_edm(const experts::Denoiser& denoiser, const at::Tensor& latents, const SamplerOptions& options,
                      core::SeededNoise& noise, int64_t* nfe = nullptr);

}  // namespace switchdiff::sampling
