#pragma once
// Test double: a denoiser that records the sigma of every image it was asked about, and returns
// x * scale (so which expert answered is visible in the output).
#include <mutex>
#include <vector>

#include <ATen/ATen.h>

#include "experts/denoiser.h"

namespace switchdiff::testing {

class RecordingDenoiser final : public experts::Denoiser {
 public:
  RecordingDenoiser(std::string name, double scale, experts::ImageShape shape = {1, 2, 2},
                    experts::SigmaRange range = {0.0, 1e9})
      : name_(std::move(name)), scale_(scale), shape_(shape), range_(range) {}
  at::Tensor denoise(const at::Tensor& x, const at::Tensor& sigma) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    const at::Tensor s = sigma.to(at::kDouble).contiguous();
    for (int64_t i = 0; i < s.numel(); ++i) seen_.push_back(s[i].item<double>());
    return x * scale_;
  }
  experts::SigmaRange trained_range() const override { return range_; }
  experts::ImageShape image_shape() const override { return shape_; }
  std::string name() const override { return name_; }
  std::vector<double> seen() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }

 private:
  std::string name_;
  double scale_;
  experts::ImageShape shape_;
  experts::SigmaRange range_;
  mutable std::mutex mutex_;
  mutable std::vector<double> seen_;
};

}  // namespace switchdiff::testing
