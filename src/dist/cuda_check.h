#pragma once
// Internal to dist/ (NCCL builds): the one place CUDA runtime and NCCL return codes become exceptions.
#include <cuda_runtime_api.h>
#include <nccl.h>

namespace switchdiff::dist::detail {

// Throws CommError "<call> failed: <cudaGetErrorString>" unless code == cudaSuccess.
void check_cuda(cudaError_t code, const char* call);
// Throws CommError "<call> failed: <ncclGetErrorString> (<ncclGetLastError>)" unless code == ncclSuccess.
void check_nccl(ncclResult_t code, const char* call, ncclComm_t comm = nullptr);

}  // namespace switchdiff::dist::detail
