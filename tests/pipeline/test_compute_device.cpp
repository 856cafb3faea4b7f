// run.device (pipeline/compute_device.h): which device a rank's networks use, and the refusals that say why a
// GPU cannot be used. On a machine with a CUDA LibTorch and a GPU the "cuda" cases check the rank's GPU instead.
#include <ATen/Context.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "dist/communicator.h"
#include "pipeline/compute_device.h"

namespace switchdiff::pipeline {
namespace {

bool gpu_usable() { return at::hasCUDA() && dist::visible_cuda_devices() > 0; }

TEST(ComputeDevice, CpuIsAlwaysTheCpu) {
  const auto comm = dist::make_communicator("serial");
  EXPECT_EQ(compute_device(*comm, "cpu"), c10::Device(c10::kCPU));
}

TEST(ComputeDevice, AutoTakesTheRanksGpuWhenThereIsOne) {
  const auto comm = dist::make_communicator("serial");
  const c10::Device device = compute_device(*comm, "auto");
  if (gpu_usable()) {
    EXPECT_EQ(device, c10::Device(c10::kCUDA, 0));  // local rank 0
  } else {
    EXPECT_EQ(device, c10::Device(c10::kCPU));
  }
}

TEST(ComputeDevice, CudaWithoutAGpuSaysWhy) {
  const auto comm = dist::make_communicator("serial");
  if (gpu_usable()) {
    EXPECT_EQ(compute_device(*comm, "cuda"), c10::Device(c10::kCUDA, 0));
    return;
  }
  try {
    compute_device(*comm, "cuda");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("run.device = cuda"), std::string::npos) << message;
    EXPECT_NE(message.find(at::hasCUDA() ? "no GPU is visible" : "no CUDA support"), std::string::npos) << message;
    EXPECT_NE(message.find("run.device = cpu"), std::string::npos) << message;  // the fix
  }
}

TEST(ComputeDevice, UnknownValueListsTheChoices) {
  const auto comm = dist::make_communicator("serial");
  try {
    compute_device(*comm, "gpu");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("auto | cpu | cuda"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace switchdiff::pipeline
