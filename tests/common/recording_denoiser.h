#pragma once
// Test double: a denoiser that records the sigma of every image it was asked about. Either a stand-alone expert
// returning x * scale (so which expert answered is visible in the output), or a wrapper that forwards everything,
// switch sigmas and trained-range checks included, to an inner denoiser (a wrapper around a merged model must keep
// its split).
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "experts/denoiser.h"

namespace switchdiff::testing {

class RecordingDenoiser final : public experts::Denoiser {
 public:
  RecordingDenoiser(std::string name, double scale, experts::ImageShape shape = {1, 2, 2},
                    experts::SigmaRange range = {0.0, 1e9})
      : name_(std::move(name)), scale_(scale), shape_(shape), range_(range) {}
  explicit RecordingDenoiser(std::shared_ptr<const experts::Denoiser> inner)
      : name_("recording " + inner->name()), inner_(std::move(inner)) {}
  at::Tensor denoise(const at::Tensor& x, const at::Tensor& sigma) const override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const at::Tensor s = sigma.to(at::kDouble).contiguous();
      for (int64_t i = 0; i < s.numel(); ++i) seen_.push_back(s[i].item<double>());
    }
    return inner_ ? inner_->denoise(x, sigma) : x * scale_;
  }
  experts::SigmaRange trained_range() const override { return inner_ ? inner_->trained_range() : range_; }
  experts::ImageShape image_shape() const override { return inner_ ? inner_->image_shape() : shape_; }
  std::string name() const override { return name_; }
  std::vector<double> switch_sigmas() const override {
    return inner_ ? inner_->switch_sigmas() : std::vector<double>{};
  }
  void check_trained_range(double sigma_lo, double sigma_hi, const std::string& fix) const override {
    if (inner_) return inner_->check_trained_range(sigma_lo, sigma_hi, fix);
    Denoiser::check_trained_range(sigma_lo, sigma_hi, fix);
  }
  std::vector<double> seen() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }

 private:
  std::string name_;
  double scale_ = 1.0;
  experts::ImageShape shape_;
  experts::SigmaRange range_;
  std::shared_ptr<const experts::Denoiser> inner_;
  mutable std::mutex mutex_;
  mutable std::vector<double> seen_;
};

}  // namespace switchdiff::testing
