#pragma once
// The one interface every expert is used through (docs/experts.md): D(x; sigma) ~ E[y | x], x = y + sigma*n.
//
// Contract of denoise():
//   x:     floating [B, C, H, W] (float32 or float64), the EDM / variance-exploding input.
//   sigma: floating [B], one noise level per image (> 0).
//   returns D(x; sigma) with x's shape and dtype. Differentiable w.r.t. x (autograd), which the
//   likelihood's divergence estimators rely on. Any thread may call it; no MPI, no I/O.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace switchdiff::experts {

// The noise levels an expert was trained for (its sigma_min, sigma_max metadata).
struct SigmaRange {
  double min = 0.0;
  double max = 0.0;
  bool contains(double sigma) const { return sigma >= min && sigma <= max; }
  // Whether [lo, hi] lies inside the range, up to a relative slack of 1e-9 so that the float rounding of a
  // sigma grid's end points does not trip it. The one rule every trained-range check uses.
  bool covers(double lo, double hi) const;
};

struct ImageShape {
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t dims() const { return channels * height * width; }
  bool operator==(const ImageShape& o) const {
    return channels == o.channels && height == o.height && width == o.width;
  }
  bool operator!=(const ImageShape& o) const { return !(*this == o); }
  std::string str() const;  // "3x32x32"
};

class Denoiser {
 public:
  virtual ~Denoiser() = default;
  virtual at::Tensor denoise(const at::Tensor& x, const at::Tensor& sigma) const = 0;
  virtual SigmaRange trained_range() const = 0;
  virtual ImageShape image_shape() const = 0;
  // For messages: the model path or "gmm:file".
  virtual std::string name() const = 0;

  // The noise levels where this model changes expert, ascending; empty for a single expert. The PF-ODE splits its
  // integration there (the drift jumps). A wrapper around a merged model must forward it to keep the split.
  virtual std::vector<double> switch_sigmas() const { return {}; }
  // ConfigError naming the expert and ranges when a caller that uses sigma in [sigma_lo, sigma_hi] would ask an
  // expert outside its trained range. Default: trained_range().covers(sigma_lo, sigma_hi); a merged model checks
  // each expert on the band it serves. `fix` ends the message: what the user should change.
  virtual void check_trained_range(double sigma_lo, double sigma_hi, const std::string& fix) const;
};

}  // namespace switchdiff::experts
