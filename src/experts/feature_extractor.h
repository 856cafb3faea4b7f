#pragma once
// A TorchScript feature extractor for FID / Inception Score (docs/metrics.md).
//
// File contract: forward(images: uint8 [B, 3, H, W]) -> features [B, F] (any floating dtype), e.g. the
// 2048-d pool3 features of NVIDIA's inception-2015-12-05 detector used by EDM's fid.py (exported by
// tools/export_inception.py). Optional method logits(images) -> [B, K] enables Inception Score.
// Optional attributes: name (str), feature_dim (int), resolution (int, the probe image size).
//
// features()/logits() accept uint8 [B, C, H, W] with C = 1 (repeated to 3 channels) or 3, on any device;
// they run the network on the extractor's device under InferenceMode and return float64 [B, F] / [B, K]
// on that device (so statistics can accumulate there), checked for shape and finiteness.
// Not thread-safe for concurrent calls on one object (TorchScript modules are not); no MPI, no I/O
// after construction.
#include <cstdint>
#include <memory>
#include <string>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace switchdiff::experts {

class FeatureExtractor {
 public:
  // Loads `path`, checks that it is TorchScript with forward(images), and probes forward (and logits,
  // when present) with a zero batch uint8 [2, 3, R, R] (R = attribute 'resolution', else 32) to learn F.
  // Every failure (missing file, not TorchScript, wrong signature, bad output) is an InputError that
  // names the file and says how to fix it.
  explicit FeatureExtractor(const std::string& path, c10::Device device = c10::Device(c10::kCPU));
  ~FeatureExtractor();
  FeatureExtractor(FeatureExtractor&&) noexcept;
  FeatureExtractor& operator=(FeatureExtractor&&) noexcept;

  at::Tensor features(const at::Tensor& uint8_images) const;  // float64 [B, F]
  bool has_logits() const { return num_classes_ > 0; }
  at::Tensor logits(const at::Tensor& uint8_images) const;  // float64 [B, K]; InputError without logits

  const std::string& name() const { return name_; }  // attribute 'name', else the file stem
  const std::string& path() const { return path_; }
  int64_t feature_dim() const { return feature_dim_; }
  int64_t num_classes() const { return num_classes_; }   // K, 0 without logits
  const std::string& sha256() const { return sha256_; }  // of the file's bytes (core/file_hash.h)
  c10::Device device() const { return device_; }

 private:
  at::Tensor run(const char* method, const at::Tensor& uint8_images, int64_t expected_dim) const;

  struct Module;  // hides torch::jit::Module (and <torch/script.h>) from includers
  std::unique_ptr<Module> module_;
  std::string path_;
  std::string name_;
  std::string sha256_;
  c10::Device device_;
  int64_t feature_dim_ = 0;
  int64_t num_classes_ = 0;
};

}  // namespace switchdiff::experts
