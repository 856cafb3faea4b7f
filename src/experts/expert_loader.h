#pragma once
// Opens an expert named in the config: "gmm:<file>" gives the analytic Gaussian-mixture expert,
// anything else a TorchScript expert (docs/experts.md).
#include <memory>
#include <string>

#include "experts/denoiser.h"
#include "experts/torchscript_expert.h"

namespace switchdiff::experts {

// "gmm:<file>" names an analytic expert's parameter file; anything else is a TorchScript file.
inline constexpr const char* kGaussianMixturePrefix = "gmm:";
bool is_gaussian_mixture(const std::string& expert_path);
// The file behind an expert path (the part after "gmm:" for analytic experts): what is hashed and checked.
std::string expert_file(const std::string& expert_path);

// TorchScript experts run on `device`; analytic experts always on the CPU (they are cheap).
std::shared_ptr<const Denoiser> load_expert(const ExpertSpec& spec, c10::Device device = c10::Device(c10::kCPU));

// Resolved metadata of an expert for the results file (docs/formats.md): parameterization, range.
ExpertInfo describe_expert(const Denoiser& expert, const std::string& path);

}  // namespace switchdiff::experts
