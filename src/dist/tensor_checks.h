#pragma once
// Internal to dist/: argument checks shared by the backends (programmer errors become CommError with the
// operation's name, since a wrong dtype on one rank would otherwise corrupt or deadlock a collective).
#include <ATen/core/Tensor.h>

#include <string>

namespace switchdiff::dist::detail {

// t is defined, float64 and on the CPU (or also CUDA when allow_cuda).
void require_float64(const at::Tensor& t, const char* operation, bool allow_cuda);
// t is defined, 1-D, and of a dtype all_gather supports (float64, float32, int64, int32, uint8).
void require_gatherable(const at::Tensor& t, const char* operation);
// Number of bytes of one element of t (a supported dtype).
size_t element_bytes(const at::Tensor& t);

}  // namespace switchdiff::dist::detail
