#include "experts/torchscript_expert.h"

#include <torch/script.h>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "experts/zip_integrity.h"

namespace switchdiff::experts {

struct TorchScriptExpert::Module {
  torch::jit::Module module;
};

std::string to_string(Parameterization p) { return p == Parameterization::kEdm ? "edm" : "vdm"; }

namespace {

// First line of a c10::Error: the rest is a TorchScript backtrace users do not need.
std::string first_line(const std::string& text) {
  const auto nl = text.find('\n');
  return nl == std::string::npos ? text : text.substr(0, nl);
}

std::optional<c10::IValue> attribute(const torch::jit::Module& m, const std::string& name) {
  if (!m.hasattr(name)) return std::nullopt;
  return m.attr(name);
}

std::optional<double> double_attribute(const torch::jit::Module& m, const std::string& name, const std::string& path) {
  auto v = attribute(m, name);
  if (!v) return std::nullopt;
  if (v->isDouble()) return v->toDouble();
  if (v->isInt()) return static_cast<double>(v->toInt());
  throw make_error<InputError>("{}: attribute '{}' should be a float, found {}", path, name, v->tagKind());
}

std::optional<int64_t> int_attribute(const torch::jit::Module& m, const std::string& name, const std::string& path) {
  auto v = attribute(m, name);
  if (!v) return std::nullopt;
  if (v->isInt()) return v->toInt();
  throw make_error<InputError>("{}: attribute '{}' should be an int, found {}", path, name, v->tagKind());
}

template <class T>
T require(const std::optional<T>& value, const std::string& path, const std::string& key) {
  if (!value) {
    throw make_error<InputError>(
        "{}: the expert's '{}' is unknown: the file has no '{}' attribute and the config sets none; "
        "set it in the config (e.g. --experts.<quality|likelihood>.{} VALUE) or re-export the model with it",
        path, key, key, key);
  }
  return *value;
}

Parameterization parse_parameterization(const std::string& text, const std::string& path) {
  if (text == "edm") return Parameterization::kEdm;
  if (text == "vdm") return Parameterization::kVdm;
  throw make_error<InputError>("{}: parameterization '{}' is not supported; use 'edm' or 'vdm' (docs/experts.md)", path,
                               text);
}

}  // namespace

TorchScriptExpert::TorchScriptExpert(const ExpertSpec& spec, c10::Device device)
    : module_(std::make_unique<Module>()), device_(device) {
  const std::string& path = spec.path;
  if (!std::filesystem::is_regular_file(path)) {
    throw make_error<InputError>(
        "{}: expert file not found; check the path in [experts] or export the model with tools/", path);
  }
  check_zip_integrity(path, "expert");  // LibTorch itself would load a bit-flipped file
  try {
    module_->module = torch::jit::load(path, device_);
  } catch (const c10::Error& e) {
    throw make_error<InputError>(
        "{}: not a readable TorchScript file, or not loadable on {} ({}); export it with tools/export_edm.py or "
        "tools/export_vdm.py",
        path, device_.str(), first_line(e.what()));
  }
  module_->module.eval();
  // Experts are only evaluated, never trained: without this, autograd through the module (the likelihood's
  // vector-Jacobian products w.r.t. x) also computes every weight gradient, about 3x the cost.
  for (at::Tensor p : module_->module.parameters()) p.requires_grad_(false);
  const auto& m = module_->module;

  std::optional<std::string> parameterization = spec.parameterization;
  if (!parameterization) {
    if (auto v = attribute(m, "parameterization"); v && v->isString()) parameterization = v->toStringRef();
  }
  info_.path = path;
  info_.parameterization = parse_parameterization(require(parameterization, path, "parameterization"), path);
  info_.range.min =
      require(spec.sigma_min ? spec.sigma_min : double_attribute(m, "sigma_min", path), path, "sigma_min");
  info_.range.max =
      require(spec.sigma_max ? spec.sigma_max : double_attribute(m, "sigma_max", path), path, "sigma_max");
  const int64_t channels =
      require(spec.channels ? spec.channels : int_attribute(m, "channels", path), path, "channels");
  const int64_t resolution =
      require(spec.resolution ? spec.resolution : int_attribute(m, "resolution", path), path, "resolution");
  info_.shape = {channels, resolution, resolution};
  const double default_scale = info_.parameterization == Parameterization::kVdm ? 127.5 / 128.0 : 1.0;
  info_.data_scale =
      spec.data_scale ? *spec.data_scale : double_attribute(m, "data_scale", path).value_or(default_scale);

  if (!(info_.range.min > 0) || !(info_.range.max > info_.range.min)) {
    throw make_error<InputError>("{}: sigma range [{}, {}] is invalid; need 0 < sigma_min < sigma_max", path,
                                 info_.range.min, info_.range.max);
  }
  if (channels <= 0 || resolution <= 0) {
    throw make_error<InputError>("{}: image shape {} is invalid", path, info_.shape.str());
  }
  if (!(info_.data_scale > 0)) throw make_error<InputError>("{}: data_scale {} must be > 0", path, info_.data_scale);

  // Probe once so a wrong signature or output shape fails now, with the file named, not mid-run.
  // Finiteness is checked on every real call instead (SwitchedDenoiser), where seeds are known.
  // Without autograd, but not under c10::InferenceMode: tensors a (traced) module creates in its first call
  // can be kept by its graph as constants, and inference tensors could never be saved for a later backward pass
  // (tests/likelihood/test_traced_experts.cpp).
  at::NoGradGuard guard;
  const double probe_sigma = std::sqrt(info_.range.min * info_.range.max);
  const at::Tensor x = at::zeros({1, channels, resolution, resolution}, at::kFloat);
  try {
    denoise(x, at::full({1}, probe_sigma, at::kFloat));
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw make_error<InputError>(
        "{}: calling forward(x: float32 [1,{},{},{}], {}: float32 [1]) failed: {}; the expert must take "
        "forward(x, sigma) ('edm') or forward(z, gamma) ('vdm') (docs/experts.md)",
        path, channels, resolution, resolution, info_.parameterization == Parameterization::kEdm ? "sigma" : "gamma",
        first_line(e.what()));
  }
}

TorchScriptExpert::~TorchScriptExpert() = default;

at::Tensor TorchScriptExpert::call_network(const at::Tensor& input, const at::Tensor& condition) const {
  // The network sees float32 on its own device; the result goes back to the caller's device.
  std::vector<c10::IValue> inputs{input.to(device_, at::kFloat), condition.to(device_, at::kFloat)};
  c10::IValue out = module_->module.forward(inputs);
  if (!out.isTensor()) {
    throw make_error<InputError>("{}: forward returned a {}, not a tensor", info_.path, out.tagKind());
  }
  at::Tensor result = out.toTensor().to(input.device());
  if (result.sizes() != input.sizes()) {
    throw make_error<InputError>(
        "{}: forward returned shape {} for input shape {}; an expert must return its input's shape [B,C,H,W]",
        info_.path, fmt::format("{}", fmt::join(result.sizes(), "x")),
        fmt::format("{}", fmt::join(input.sizes(), "x")));
  }
  return result;
}

at::Tensor TorchScriptExpert::denoise(const at::Tensor& x, const at::Tensor& sigma) const {
  if (info_.parameterization == Parameterization::kEdm) {
    return call_network(x, sigma).to(x.scalar_type());
  }
  // VDM: the VP latent of EDM's x, in the network's pixel scale c = data_scale (docs/experts.md).
  const double c = info_.data_scale;
  const at::Tensor s = sigma.to(x.scalar_type());
  const at::Tensor s4 = s.reshape({-1, 1, 1, 1});
  const at::Tensor z = c * x / at::sqrt(1.0 + c * c * s4 * s4);
  const at::Tensor gamma = 2.0 * at::log(c * s);
  const at::Tensor eps = call_network(z, gamma).to(x.scalar_type());
  return x - s4 * eps;
}

}  // namespace switchdiff::experts
