#include "dist/cuda_device.h"

#include <string>

#include "core/error.h"
#include "dist/cuda_check.h"

namespace switchdiff::dist {
namespace detail {

void check_cuda(cudaError_t code, const char* call) {
  if (code == cudaSuccess) return;
  throw make_error<CommError>("{} failed: {} ({})", call, cudaGetErrorString(code), cudaGetErrorName(code));
}

void check_nccl(ncclResult_t code, const char* call, ncclComm_t comm) {
  if (code == ncclSuccess) return;
  // ncclGetLastError carries the detail (which peer, which transport) that the code alone lacks.
  const char* detail = ncclGetLastError(comm);
  throw make_error<CommError>("{} failed: {}{}{}", call, ncclGetErrorString(code), detail && *detail ? ": " : "",
                              detail ? detail : "");
}

}  // namespace detail

int cuda_device_count_or_zero() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error so later calls do not see it
    return 0;
  }
  return count;
}

int select_cuda_device(int local_rank) {
  const int count = cuda_device_count_or_zero();
  if (count == 0) {
    throw make_error<ConfigError>(
        "no CUDA device visible (check CUDA_VISIBLE_DEVICES and the driver); "
        "use the mpi or serial backend");
  }
  const int device = local_rank % count;
  detail::check_cuda(cudaSetDevice(device), "cudaSetDevice");
  return device;
}

}  // namespace switchdiff::dist
