#include "pipeline/compute_device.h"

#include <ATen/Context.h>

#include "core/error.h"

namespace switchdiff::pipeline {

const char* compute_device_choices() { return "auto | cpu | cuda"; }

c10::Device compute_device(const dist::Communicator& comm, const std::string& requested) {
  if (requested == "cpu") return c10::Device(c10::kCPU);
  if (requested != "auto" && requested != "cuda") {
    throw make_error<ConfigError>("run.device = '{}' is not one of {}", requested, compute_device_choices());
  }
  const bool torch_has_cuda = at::hasCUDA();
  const int gpus = torch_has_cuda ? dist::visible_cuda_devices() : 0;
  if (gpus > 0) return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(comm.local_rank() % gpus));
  if (requested == "auto") return c10::Device(c10::kCPU);
  if (!torch_has_cuda) {
    throw ConfigError(
        "run.device = cuda, but this build's LibTorch has no CUDA support (Debian's libtorch-dev is CPU-only); "
        "build switchdiff against a CUDA LibTorch (cmake -DCMAKE_PREFIX_PATH=<libtorch>), or use run.device = cpu");
  }
  throw ConfigError(
      "run.device = cuda, but no GPU is visible to this rank (check CUDA_VISIBLE_DEVICES and the "
      "job's GPU request, e.g. srun --gpus-per-task=1), or use run.device = cpu");
}

}  // namespace switchdiff::pipeline
