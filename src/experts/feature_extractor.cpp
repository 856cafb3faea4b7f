#include "experts/feature_extractor.h"

#include <torch/script.h>

#include <c10/core/InferenceMode.h>

#include <filesystem>
#include <vector>

#include "core/error.h"
#include "core/file_hash.h"

namespace switchdiff::experts {

struct FeatureExtractor::Module {
  torch::jit::Module module;
};

namespace {

constexpr int64_t kDefaultProbeResolution = 32;
constexpr const char* kHowToExport =
    "a feature extractor is a TorchScript file with forward(images: uint8 [B,3,H,W]) -> features [B,F] and an "
    "optional logits(images) method; export Inception-v3 with tools/export_inception.py";

// First line of a c10::Error: the rest is a TorchScript backtrace users do not need.
std::string first_line(const std::string& text) {
  const auto nl = text.find('\n');
  return nl == std::string::npos ? text : text.substr(0, nl);
}

// Number of user arguments (without self) of a method; -1 when the module has no such method.
int64_t argument_count(const torch::jit::Module& module, const std::string& method) {
  const auto found = module.find_method(method);
  if (!found) return -1;
  return static_cast<int64_t>(found->function().getSchema().arguments().size()) - 1;
}

}  // namespace

FeatureExtractor::FeatureExtractor(const std::string& path, c10::Device device)
    : module_(std::make_unique<Module>()), path_(path), device_(device) {
  if (!std::filesystem::is_regular_file(path)) {
    throw make_error<InputError>("{}: feature extractor file not found; check the path ({})", path, kHowToExport);
  }
  try {
    module_->module = torch::jit::load(path, device);
  } catch (const c10::Error& e) {
    throw make_error<InputError>("{}: not a readable TorchScript file ({}); {}", path, first_line(e.what()),
                                 kHowToExport);
  }
  module_->module.eval();
  torch::jit::Module& m = module_->module;

  const int64_t forward_arguments = argument_count(m, "forward");
  if (forward_arguments != 1) {
    throw make_error<InputError>("{}: forward takes {} arguments, a feature extractor's takes exactly 1 (images); {}",
                                 path, forward_arguments, kHowToExport);
  }
  const int64_t logits_arguments = argument_count(m, "logits");
  if (logits_arguments != -1 && logits_arguments != 1) {
    throw make_error<InputError>("{}: logits takes {} arguments, expected exactly 1 (images); {}", path,
                                 logits_arguments, kHowToExport);
  }

  name_ = std::filesystem::path(path).stem().string();
  if (m.hasattr("name")) {
    const c10::IValue value = m.attr("name");
    if (!value.isString()) {
      throw make_error<InputError>("{}: attribute 'name' should be a str, found {}; re-export the extractor", path,
                                   value.tagKind());
    }
    name_ = value.toStringRef();
  }
  int64_t declared_dim = 0;
  if (m.hasattr("feature_dim")) {
    const c10::IValue value = m.attr("feature_dim");
    if (!value.isInt() || value.toInt() <= 0) {
      throw make_error<InputError>("{}: attribute 'feature_dim' should be a positive int, found {}", path,
                                   value.isInt() ? std::to_string(value.toInt()) : value.tagKind());
    }
    declared_dim = value.toInt();
  }
  int64_t resolution = kDefaultProbeResolution;
  if (m.hasattr("resolution") && m.attr("resolution").isInt()) resolution = m.attr("resolution").toInt();

  // Probe once so a wrong network fails here, naming the file, and not in the middle of a 50k-image run.
  const at::Tensor probe = at::zeros({2, 3, resolution, resolution}, at::TensorOptions().dtype(at::kByte));
  feature_dim_ = run("forward", probe, 0).size(1);
  if (declared_dim != 0 && declared_dim != feature_dim_) {
    throw make_error<InputError>(
        "{}: attribute feature_dim = {} but forward returns {} features per image; "
        "re-export the extractor with a matching feature_dim",
        path, declared_dim, feature_dim_);
  }
  if (logits_arguments == 1) num_classes_ = run("logits", probe, 0).size(1);
  sha256_ = core::sha256_file(path);
}

FeatureExtractor::~FeatureExtractor() = default;
FeatureExtractor::FeatureExtractor(FeatureExtractor&&) noexcept = default;
FeatureExtractor& FeatureExtractor::operator=(FeatureExtractor&&) noexcept = default;

at::Tensor FeatureExtractor::features(const at::Tensor& uint8_images) const {
  return run("forward", uint8_images, feature_dim_);
}

at::Tensor FeatureExtractor::logits(const at::Tensor& uint8_images) const {
  if (!has_logits()) {
    throw make_error<InputError>(
        "{}: this feature extractor has no logits method, so no Inception Score; "
        "use an extractor exported with logits (tools/export_inception.py)",
        path_);
  }
  return run("logits", uint8_images, num_classes_);
}

// Validates the images, runs `method` without autograd and checks its output: float64 [B, expected_dim]
// (any width when expected_dim == 0), finite.
at::Tensor FeatureExtractor::run(const char* method, const at::Tensor& uint8_images, int64_t expected_dim) const {
  if (!uint8_images.defined() || uint8_images.dim() != 4 || uint8_images.scalar_type() != at::kByte ||
      (uint8_images.size(1) != 1 && uint8_images.size(1) != 3)) {
    throw make_error<InputError>(
        "{}: images must be uint8 [B, C, H, W] with C = 1 or 3, got {} {}; convert pixels to uint8 0..255 first", path_,
        uint8_images.defined() ? std::string(c10::toString(uint8_images.scalar_type())) : "undefined",
        uint8_images.defined() ? c10::str(uint8_images.sizes()) : "");
  }
  const int64_t batch = uint8_images.size(0);
  if (batch == 0 && expected_dim > 0) {
    return at::empty({0, expected_dim}, at::TensorOptions().dtype(at::kDouble).device(device_));
  }
  at::Tensor output;
  {
    c10::InferenceMode no_autograd;
    at::Tensor images = uint8_images.to(device_);
    // docs/metrics.md: grayscale is repeated to 3 channels (what EDM's fid.py does before the detector).
    if (images.size(1) == 1) images = images.repeat({1, 3, 1, 1});
    c10::IValue result;
    try {
      result = module_->module.get_method(method)({images.contiguous()});
    } catch (const c10::Error& e) {
      throw make_error<InputError>("{}: {}(images uint8 {}) failed: {}; {}", path_, method, c10::str(images.sizes()),
                                   first_line(e.what()), kHowToExport);
    }
    if (!result.isTensor()) {
      throw make_error<InputError>("{}: {}(images) returned {}, expected a tensor [B, F]; {}", path_, method,
                                   result.tagKind(), kHowToExport);
    }
    output = result.toTensor();
    if (output.dim() != 2 || output.size(0) != batch || !at::isFloatingType(output.scalar_type()) ||
        (expected_dim > 0 && output.size(1) != expected_dim)) {
      throw make_error<InputError>("{}: {}(images [{}, ...]) returned {} {}, expected floating [{}, {}]; {}", path_,
                                   method, batch, std::string(c10::toString(output.scalar_type())),
                                   c10::str(output.sizes()), batch,
                                   expected_dim > 0 ? std::to_string(expected_dim) : "F", kHowToExport);
    }
    output = output.to(at::kDouble);
    const at::Tensor finite_rows = at::isfinite(output).all(1).cpu();
    if (!finite_rows.all().item<bool>()) {
      const at::Tensor bad = at::nonzero(finite_rows.logical_not()).flatten();
      throw make_error<InputError>(
          "{}: {} returned non-finite values for {} of {} images (first at batch index {}); "
          "check the extractor on these images",
          path_, method, bad.numel(), batch, bad[0].item<int64_t>());
    }
  }
  // A copy made outside InferenceMode is a normal tensor, usable in later in-place arithmetic.
  return output.clone();
}

}  // namespace switchdiff::experts
