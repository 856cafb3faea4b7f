#include "dist/tensor_checks.h"

#include <fmt/format.h>

#include "core/error.h"

namespace switchdiff::dist::detail {

void require_float64(const at::Tensor& t, const char* operation, bool allow_cuda) {
  if (!t.defined()) throw make_error<CommError>("{}: the tensor is undefined", operation);
  if (t.scalar_type() != at::kDouble) {
    throw make_error<CommError>("{}: sums are float64 (docs/design.md), got a {} tensor; convert with .to(at::kDouble)",
                                operation, std::string(c10::toString(t.scalar_type())));
  }
  if (!(t.device().is_cpu() || (allow_cuda && t.device().is_cuda()))) {
    throw make_error<CommError>("{}: tensor on {} is not supported by this backend (CPU{} only)", operation,
                                t.device().str(), allow_cuda ? " or CUDA" : "");
  }
}

void require_gatherable(const at::Tensor& t, const char* operation) {
  if (!t.defined()) throw make_error<CommError>("{}: the tensor is undefined", operation);
  if (t.dim() != 1) throw make_error<CommError>("{}: expects a 1-D tensor, got {} dimensions", operation, t.dim());
  switch (t.scalar_type()) {
    case at::kDouble:
    case at::kFloat:
    case at::kLong:
    case at::kInt:
    case at::kByte:
      return;
    default:
      throw make_error<CommError>("{}: dtype {} is not supported (float64, float32, int64, int32, uint8)", operation,
                                  std::string(c10::toString(t.scalar_type())));
  }
}

size_t element_bytes(const at::Tensor& t) { return t.element_size(); }

}  // namespace switchdiff::dist::detail
