#pragma once
// Opens an expert named in the config: "gmm:<file>" gives the analytic Gaussian-mixture expert,
// anything else a TorchScript expert (docs/experts.md).
#include <memory>

#include "experts/denoiser.h"
#include "experts/torchscript_expert.h"

namespace switchdiff::experts {

// TorchScript experts run on `device`; analytic experts always on the CPU (they are cheap).
std::shared_ptr<const Denoiser> load_expert(const ExpertSpec& spec, c10::Device device = c10::Device(c10::kCPU));

// Resolved metadata of an expert for the results file (docs/formats.md): parameterization, range.
ExpertInfo describe_expert(const Denoiser& expert, const std::string& path);

}  // namespace switchdiff::experts
