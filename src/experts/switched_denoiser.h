#pragma once
// The merged model (docs/experts.md): experts by noise band, switched per network call, per image.
//   experts ordered from the lowest-noise band to the highest, thresholds ascending (n-1 of them):
//   sigma <= thresholds[0] -> experts[0] (the likelihood expert), thresholds[i-1] < sigma <= thresholds[i]
//   -> experts[i], sigma > thresholds.back() -> experts.back() (the quality expert).
// So sigma == switch_sigma belongs to the lower-noise (likelihood) expert.
// Every expert output is checked for NaN/Inf; the InputError names the expert and the sigma values.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "experts/denoiser.h"

namespace switchdiff::experts {

struct ExpertUsage {
  int64_t calls = 0;   // network invocations (each on a sub-batch)
  int64_t images = 0;  // image evaluations (sum of sub-batch sizes)
};

class SwitchedDenoiser final : public Denoiser {
 public:
  SwitchedDenoiser(std::vector<std::shared_ptr<const Denoiser>> experts_low_to_high, std::vector<double> switch_sigmas);
  // The two-expert merge of the paper: quality for sigma > switch_sigma, likelihood for sigma <= switch_sigma.
  static std::shared_ptr<SwitchedDenoiser> merge(std::shared_ptr<const Denoiser> quality,
                                                 std::shared_ptr<const Denoiser> likelihood, double switch_sigma);

  at::Tensor denoise(const at::Tensor& x, const at::Tensor& sigma) const override;
  SigmaRange trained_range() const override;  // the union the merge covers
  ImageShape image_shape() const override { return experts_.front()->image_shape(); }
  std::string name() const override;

  size_t num_experts() const { return experts_.size(); }
  const Denoiser& expert(size_t band) const { return *experts_[band]; }
  const std::vector<double>& switch_sigmas() const { return switch_sigmas_; }
  // Band (expert index) that serves noise level sigma.
  size_t band_of(double sigma) const;
  ExpertUsage usage(size_t band) const;
  void reset_usage() const;

  // Checks that each expert is asked only for noise levels inside its trained range, given that the
  // caller uses sigma in [sigma_lo, sigma_hi]; throws ConfigError naming the expert, band and range.
  void check_trained_ranges(double sigma_lo, double sigma_hi) const;

 private:
  at::Tensor checked(size_t band, const at::Tensor& x, const at::Tensor& sigma) const;

  std::vector<std::shared_ptr<const Denoiser>> experts_;
  std::vector<double> switch_sigmas_;
  mutable std::vector<std::atomic<int64_t>> calls_;
  mutable std::vector<std::atomic<int64_t>> images_;
};

}  // namespace switchdiff::experts
