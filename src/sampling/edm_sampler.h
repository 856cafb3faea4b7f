#pragma once
// EDM's deterministic/stochastic sampler (Karras et al. 2022, Alg. 2; NVlabs edm_sampler) over any
// Denoiser, in float64 state (network input cast to float32 by the expert); contract in docs/sampling.md.
//   Heun: 2nd order, Euler on the last step (sigma_N = 0). Euler: first order throughout.
//   Churn: gamma_i = min(S_churn/N, sqrt(2)-1) for sigma_i in [S_min, S_max], noise from each image's
//   own generator, so a sample depends only on its seed and the options.
// Switching between experts is not done here: it comes in through the Denoiser, a SwitchedDenoiser that picks the
// expert per call from the call's sigma (docs/experts.md#the-switch-rule). The sampler knows nothing of the switch
// sigma eta, so this file is the whole algorithm of one trajectory.
//
// The trajectory is a sequence of denoiser calls (call c = Euler call of step i, or its Heun correction), and
// EdmTrajectory can stop before any call, be copied (fork(): generators too) and continue with another
// denoiser. The sweep uses this to share the quality expert's trunk between switch points
// (sampling/sweep_sampler.h); sample_edm() is one trajectory run from the first call to the last.
#include <cstdint>
#include <limits>
#include <vector>

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

// The noise level of every denoiser call, in call order: step i's Euler call at t_hat_i = sigma_i (1 + gamma_i),
// then (Heun, i < N-1) its correction at sigma_{i+1}. With churn the sequence is not monotone.
std::vector<double> edm_call_sigmas(const SamplerOptions& options);

class EdmTrajectory {
 public:
  // latents: standard normal [B,C,H,W] (any float dtype; scaled by sigma_0 inside, as EDM does).
  // noise: the batch's per-image generators (churn noise); shared with the caller, as a reference would be.
  EdmTrajectory(const at::Tensor& latents, const SamplerOptions& options, core::SeededNoise noise);

  // A deep copy (the generators' states included) that continues independently.
  EdmTrajectory fork() const;
  int64_t next_call() const { return next_call_; }
  int64_t num_calls() const { return num_calls_; }
  bool done() const { return next_call_ == num_calls_; }
  // Performs calls next_call() .. until_call - 1 with `denoiser`; nfe, when given, is increased per call.
  void advance(const experts::Denoiser& denoiser, int64_t until_call, int64_t* nfe = nullptr);
  // The final state y (float64 [B,C,H,W]); only once done().
  const at::Tensor& final_state() const;

 private:
  void begin_step();  // churn noise and t_hat of step_, drawn before its Euler call (Alg. 2 lines 4-6)

  SamplerOptions options_;
  std::vector<double> sigmas_;
  core::SeededNoise noise_;
  int64_t num_calls_ = 0;
  int64_t next_call_ = 0;
  int64_t step_ = 0;
  bool correction_next_ = false;  // the next call is step_'s Heun correction
  double t_hat_ = 0;
  at::Tensor x_;      // x_i at the start of step_; the final state once done
  at::Tensor x_hat_;  // x_i raised to t_hat (churn)
  at::Tensor d_cur_;  // (x_hat - D(x_hat; t_hat)) / t_hat
  at::Tensor x_euler_;
};

// One whole trajectory with one denoiser. Returns the final state y, float64.
// nfe, when given, is increased by the evaluations per image.
at::Tensor sample_edm(const experts::Denoiser& denoiser, const at::Tensor& latents, const SamplerOptions& options,
                      core::SeededNoise& noise, int64_t* nfe = nullptr);

}  // namespace switchdiff::sampling
