#include "experts/switched_denoiser.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace switchdiff::experts {

void check_switch_sigma(double switch_sigma, const std::string& key) {
  if (!std::isfinite(switch_sigma) || switch_sigma < 0) {
    throw make_error<ConfigError>(
        "{} = {} is not allowed: a switch sigma must be finite and >= 0 (0 = quality expert "
        "alone, >= sampler sigma_max = likelihood expert alone)",
        key, switch_sigma);
  }
}

SwitchedDenoiser::SwitchedDenoiser(std::vector<std::shared_ptr<const Denoiser>> experts_high_to_low,
                                   std::vector<double> switch_sigmas_descending)
    : experts_(experts_high_to_low.rbegin(), experts_high_to_low.rend()),
      switch_sigmas_(switch_sigmas_descending.rbegin(), switch_sigmas_descending.rend()),
      calls_(experts_.size()),
      images_(experts_.size()) {
  if (experts_.empty()) throw ConfigError("a merged model needs at least one expert");
  if (switch_sigmas_.size() + 1 != experts_.size()) {
    throw make_error<ConfigError>("{} experts need {} switching sigmas, got {}", experts_.size(), experts_.size() - 1,
                                  switch_sigmas_.size());
  }
  for (size_t i = 0; i < switch_sigmas_.size(); ++i) {
    check_switch_sigma(switch_sigmas_[i], "switch sigma");
    if (i > 0 && !(switch_sigmas_[i] > switch_sigmas_[i - 1])) {
      throw make_error<ConfigError>(
          "switch sigmas must be strictly descending (experts from the highest noise "
          "down), got {} after {}",
          switch_sigmas_[i - 1], switch_sigmas_[i]);
    }
  }
  for (const auto& e : experts_) {
    if (e->image_shape() != experts_.front()->image_shape()) {
      throw make_error<InputError>(
          "{}: expects {} images but {} expects {}; all experts of a merge must share one "
          "image shape (export them for the same dataset)",
          e->name(), e->image_shape().str(), experts_.front()->name(), experts_.front()->image_shape().str());
    }
  }
}

std::shared_ptr<SwitchedDenoiser> SwitchedDenoiser::merge(std::shared_ptr<const Denoiser> quality,
                                                          std::shared_ptr<const Denoiser> likelihood,
                                                          double switch_sigma) {
  return std::make_shared<SwitchedDenoiser>(
      std::vector<std::shared_ptr<const Denoiser>>{std::move(quality), std::move(likelihood)},
      std::vector<double>{switch_sigma});
}

size_t SwitchedDenoiser::band_of(double sigma) const {
  // First threshold >= sigma: sigma == threshold stays in the lower band (docs/experts.md).
  return static_cast<size_t>(std::lower_bound(switch_sigmas_.begin(), switch_sigmas_.end(), sigma) -
                             switch_sigmas_.begin());
}

at::Tensor SwitchedDenoiser::checked(size_t band, const at::Tensor& x, const at::Tensor& sigma) const {
  calls_[band].fetch_add(1, std::memory_order_relaxed);
  images_[band].fetch_add(x.size(0), std::memory_order_relaxed);
  at::Tensor out = experts_[band]->denoise(x, sigma);
  if (!at::isfinite(out).all().item<bool>()) {
    const at::Tensor bad_rows = at::nonzero(~at::isfinite(out.reshape({out.size(0), -1})).all(1)).reshape(-1);
    const double bad_sigma = sigma.to(at::kDouble)[bad_rows[0].item<int64_t>()].item<double>();
    throw make_error<InputError>(
        "{}: non-finite output (NaN or Inf) at sigma = {:.6g} for {} of {} images in the "
        "batch; check the checkpoint and its export, and the expert's trained sigma range",
        experts_[band]->name(), bad_sigma, bad_rows.numel(), out.size(0));
  }
  return out;
}

at::Tensor SwitchedDenoiser::denoise(const at::Tensor& x, const at::Tensor& sigma) const {
  if (experts_.size() == 1) return checked(0, x, sigma);
  const at::Tensor sigma_cpu = sigma.to(at::kDouble).to(at::kCPU).contiguous();
  const double* s = sigma_cpu.data_ptr<double>();
  const int64_t batch = sigma_cpu.numel();
  std::vector<std::vector<int64_t>> rows(experts_.size());
  for (int64_t i = 0; i < batch; ++i) rows[band_of(s[i])].push_back(i);
  for (size_t band = 0; band < experts_.size(); ++band) {
    if (static_cast<int64_t>(rows[band].size()) == batch) return checked(band, x, sigma);
  }
  // Mixed batch (adaptive solvers: images at different sigma): evaluate each band on its rows.
  std::vector<at::Tensor> parts;
  std::vector<at::Tensor> indices;
  for (size_t band = 0; band < experts_.size(); ++band) {
    if (rows[band].empty()) continue;
    const at::Tensor index = at::tensor(rows[band], at::kLong).to(x.device());
    parts.push_back(checked(band, x.index_select(0, index), sigma.index_select(0, index)));
    indices.push_back(index);
  }
  // Reassemble in the original order without in-place writes, so autograd flows through every part.
  const at::Tensor order = at::argsort(at::cat(indices));
  return at::cat(parts).index_select(0, order);
}

SigmaRange SwitchedDenoiser::trained_range() const {
  SigmaRange r{experts_.front()->trained_range().min, experts_.back()->trained_range().max};
  return r;
}

std::string SwitchedDenoiser::name() const {
  if (experts_.size() == 1) return experts_.front()->name();
  std::string text;
  for (size_t i = 0; i < experts_.size(); ++i) {
    if (i) text += fmt::format(" |{:.6g}| ", switch_sigmas_[i - 1]);
    text += experts_[i]->name();
  }
  return text;
}

ExpertUsage SwitchedDenoiser::usage(size_t band) const {
  return {calls_[band].load(std::memory_order_relaxed), images_[band].load(std::memory_order_relaxed)};
}

void SwitchedDenoiser::reset_usage() const {
  for (size_t i = 0; i < experts_.size(); ++i) {
    calls_[i] = 0;
    images_[i] = 0;
  }
}

void SwitchedDenoiser::check_trained_range(double sigma_lo, double sigma_hi, const std::string& fix) const {
  // Band i serves (switch_sigmas[i-1], switch_sigmas[i]] intersected with [sigma_lo, sigma_hi].
  for (size_t band = 0; band < experts_.size(); ++band) {
    const double lo = band == 0 ? sigma_lo : std::max(sigma_lo, switch_sigmas_[band - 1]);
    const double hi = band + 1 == experts_.size() ? sigma_hi : std::min(sigma_hi, switch_sigmas_[band]);
    if (lo >= hi && !(band == 0 && lo == hi)) continue;  // this expert serves no noise level here
    experts_[band]->check_trained_range(lo, hi, fix);
  }
}

}  // namespace switchdiff::experts
