#pragma once
// CUDA device choice per rank (docs/design.md: rank -> GPU by local rank). Compiled only in NCCL builds
// (SWITCHDIFF_HAVE_NCCL); other code asks dist::visible_cuda_devices() (communicator.h) instead.
namespace switchdiff::dist {

// cudaGetDeviceCount, or 0 when the driver or the devices are missing (never throws).
int cuda_device_count_or_zero();

// cudaSetDevice(local_rank % device_count); returns the device. Throws ConfigError when no device is
// visible, CommError when the runtime refuses.
int select_cuda_device(int local_rank);

}  // namespace switchdiff::dist
