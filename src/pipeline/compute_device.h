#pragma once
// Where a rank runs its networks (experts and feature extractor), from run.device (docs/design.md: rank -> GPU by
// local rank). The samplers and the PF-ODE solver keep their float64 state on the CPU; only network calls
// move to the GPU, which is where the time goes.
#include <c10/core/Device.h>

#include <string>

#include "dist/communicator.h"

namespace switchdiff::pipeline {

// "auto": GPU local_rank % (visible GPUs) when LibTorch was built with CUDA and a GPU is visible, else CPU.
// "cpu": always the CPU. "cuda": the rank's GPU; ConfigError saying why when there is none or LibTorch has
// no CUDA support (Debian's libtorch-dev is CPU-only).
c10::Device compute_device(const dist::Communicator& comm, const std::string& requested);

// The accepted values of run.device, and its default.
const char* compute_device_choices();
inline constexpr const char* kAutoDevice = "auto";

}  // namespace switchdiff::pipeline
