#pragma once
// A TorchScript expert (docs/experts.md): forward(x, sigma) of an exported network, adapted to D(x; sigma).
//   edm: forward(x, sigma) already returns D (NVlabs EDM *Precond networks).
//   vdm: forward(z, gamma) returns eps_hat of the VP latent z = c x / sqrt(1 + c^2 sigma^2) with
//        gamma = -log SNR = 2 ln(c sigma); D(x; sigma) = x - sigma * eps_hat (Kingma et al. 2021).
// The network always sees float32 (as EDM's edm_sampler casts); the result is cast back to x's dtype.
// Metadata comes from module attributes, overridden by the config (ExpertSpec).
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <optional>
#include <string>

#include "experts/denoiser.h"

namespace switchdiff::experts {

enum class Parameterization { kEdm, kVdm };
std::string to_string(Parameterization p);

// What the config says about one expert; unset fields come from the file's attributes.
struct ExpertSpec {
  std::string path;  // TorchScript file, or "gmm:<parameter file>"
  std::optional<std::string> parameterization;
  std::optional<double> sigma_min;
  std::optional<double> sigma_max;
  std::optional<double> data_scale;
  std::optional<int64_t> channels;
  std::optional<int64_t> resolution;
};

// The resolved metadata of a loaded expert (what gets recorded in results, docs/formats.md).
struct ExpertInfo {
  std::string path;
  Parameterization parameterization = Parameterization::kEdm;
  SigmaRange range;
  double data_scale = 1.0;
  ImageShape shape;
};

class TorchScriptExpert final : public Denoiser {
 public:
  // Loads and validates: the file exists and is TorchScript, metadata is complete, and one probe call
  // forward(zeros[1,C,H,W], sigma) returns a finite tensor of the input's shape. The network lives on
  // `device`; denoise() takes x on any device and returns D on x's device and dtype (autograd flows through).
  explicit TorchScriptExpert(const ExpertSpec& spec, c10::Device device = c10::Device(c10::kCPU));
  ~TorchScriptExpert() override;

  at::Tensor denoise(const at::Tensor& x, const at::Tensor& sigma) const override;
  SigmaRange trained_range() const override { return info_.range; }
  ImageShape image_shape() const override { return info_.shape; }
  std::string name() const override { return info_.path; }
  const ExpertInfo& info() const { return info_; }

 private:
  at::Tensor call_network(const at::Tensor& input, const at::Tensor& condition) const;

  struct Module;  // hides torch::jit::Module (and <torch/script.h>) from includers
  std::unique_ptr<Module> module_;
  ExpertInfo info_;
  c10::Device device_;
};

}  // namespace switchdiff::experts
