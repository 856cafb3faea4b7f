#pragma once
// The merged model (docs/experts.md): experts by noise band, switched per network call, per image.
//   Both the constructor and merge() take the experts in the order the sampler meets them, from the highest
//   noise down, with the switch sigmas descending (n-1 of them): experts[0] (the quality expert) serves
//   sigma > switch_sigmas[0], experts[i] serves switch_sigmas[i] < sigma <= switch_sigmas[i-1], and the last
//   (the likelihood expert) sigma <= switch_sigmas.back().
// So sigma == switch_sigma belongs to the lower-noise (likelihood) expert. Bands are numbered from the lowest noise
// up (band 0 = the likelihood expert), the order of switch_sigmas() and usage().
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

// ConfigError unless `switch_sigma` is a usable switch sigma (finite and >= 0); `key` names it in the message.
void check_switch_sigma(double switch_sigma, const std::string& key);

class SwitchedDenoiser final : public Denoiser {
 public:
  SwitchedDenoiser(std::vector<std::shared_ptr<const Denoiser>> experts_high_to_low,
                   std::vector<double> switch_sigmas_descending);
  // The two-expert merge of the paper: quality for sigma > switch_sigma, likelihood for sigma <= switch_sigma.
  static std::shared_ptr<SwitchedDenoiser> merge(std::shared_ptr<const Denoiser> quality,
                                                 std::shared_ptr<const Denoiser> likelihood, double switch_sigma);

  at::Tensor denoise(const at::Tensor& x, const at::Tensor& sigma) const override;
  SigmaRange trained_range() const override;  // the union the merge covers
  ImageShape image_shape() const override { return experts_.front()->image_shape(); }
  std::string name() const override;

  size_t num_experts() const { return experts_.size(); }
  const Denoiser& expert(size_t band) const { return *experts_[band]; }
  std::vector<double> switch_sigmas() const override { return switch_sigmas_; }  // ascending
  // Band (expert index) that serves noise level sigma.
  size_t band_of(double sigma) const;
  ExpertUsage usage(size_t band) const;
  void reset_usage() const;

  // Each expert on the part of [sigma_lo, sigma_hi] its band serves.
  void check_trained_range(double sigma_lo, double sigma_hi, const std::string& fix) const override;

 private:
  at::Tensor checked(size_t band, const at::Tensor& x, const at::Tensor& sigma) const;

  std::vector<std::shared_ptr<const Denoiser>> experts_;
  std::vector<double> switch_sigmas_;  // ascending
  mutable std::vector<std::atomic<int64_t>> calls_;
  mutable std::vector<std::atomic<int64_t>> images_;
};

}  // namespace switchdiff::experts
