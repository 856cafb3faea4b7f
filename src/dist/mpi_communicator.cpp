#include "dist/mpi_communicator.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <climits>
#include <cstdint>

#include "core/error.h"
#include "dist/local_rank.h"
#include "dist/mpi_check.h"
#include "dist/mpi_session.h"
#include "dist/tensor_checks.h"

namespace switchdiff::dist {
namespace {

using detail::check_mpi;

// MPI counts are int: long buffers travel in pieces of at most this many elements.
constexpr int64_t kMaxElementsPerCall = int64_t{1} << 28;

MPI_Datatype mpi_type_of(at::ScalarType type) {
  switch (type) {
    case at::kDouble:
      return MPI_DOUBLE;
    case at::kFloat:
      return MPI_FLOAT;
    case at::kLong:
      return MPI_INT64_T;
    case at::kInt:
      return MPI_INT32_T;
    case at::kByte:
      return MPI_UINT8_T;
    default:
      throw make_error<CommError>("MPI: dtype {} has no MPI datatype here", std::string(c10::toString(type)));
  }
}

// Collective check that `value` is equal on every rank; on a mismatch every rank throws the same CommError
// (so none is left waiting in the next collective).
void require_equal_across_ranks(int64_t value, const char* operation, const char* what) {
  int64_t extremes[2] = {value, -value};  // max of -v is -(min of v)
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, extremes, 2, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
  if (extremes[0] != -extremes[1]) {
    throw make_error<CommError>("{}: {} differs across ranks (min {}, max {}); every rank must pass the same shape",
                                operation, what, -extremes[1], extremes[0]);
  }
}

// Rank within the node when no launcher variable says it: ranks sharing memory form one node.
int local_rank_from_shared_memory_split(int rank) {
  MPI_Comm node = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node),
            "MPI_Comm_split_type");
  int node_rank = 0;
  const int code = MPI_Comm_rank(node, &node_rank);
  MPI_Comm_free(&node);
  check_mpi(code, "MPI_Comm_rank(node)");
  return node_rank;
}

}  // namespace

MpiCommunicator::MpiCommunicator() {
  if (!MpiSession::active()) {
    throw make_error<ConfigError>(
        "the mpi communicator needs MPI to be initialized (an MpiSession in main); use backend serial otherwise");
  }
  check_mpi(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  // Collective on every path: all ranks take the same branch only if all see the variable, so always split
  // and prefer the launcher's value where it exists.
  const int from_split = local_rank_from_shared_memory_split(rank_);
  local_rank_ = local_rank_from_environment().value_or(from_split);
}

void MpiCommunicator::barrier() const { check_mpi(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

void MpiCommunicator::all_reduce_sum(at::Tensor& t) const {
  detail::require_float64(t, "all_reduce_sum", /*allow_cuda=*/false);
  require_equal_across_ranks(t.numel(), "all_reduce_sum", "the number of elements");
  at::Tensor work = t.is_contiguous() ? t : t.contiguous();
  double* data = work.data_ptr<double>();
  for (int64_t offset = 0; offset < work.numel(); offset += kMaxElementsPerCall) {
    const int count = static_cast<int>(std::min(kMaxElementsPerCall, work.numel() - offset));
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, data + offset, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
              "MPI_Allreduce(sum)");
  }
  if (!work.is_same(t)) t.copy_(work);
}

at::Tensor MpiCommunicator::all_gather(const at::Tensor& local) const {
  detail::require_gatherable(local, "all_gather");
  if (!local.device().is_cpu()) throw make_error<CommError>("all_gather: the mpi backend takes CPU tensors");
  require_equal_across_ranks(local.numel(), "all_gather", "the local length");
  require_equal_across_ranks(static_cast<int64_t>(local.scalar_type()), "all_gather", "the dtype");
  if (local.numel() > INT_MAX)
    throw make_error<CommError>("all_gather: {} elements per rank is too many", local.numel());
  const at::Tensor input = local.contiguous();
  at::Tensor gathered = at::empty({local.numel() * size_}, local.options());
  const MPI_Datatype type = mpi_type_of(local.scalar_type());
  const int count = static_cast<int>(local.numel());
  check_mpi(MPI_Allgather(input.data_ptr(), count, type, gathered.data_ptr(), count, type, MPI_COMM_WORLD),
            "MPI_Allgather");
  return gathered;
}

void MpiCommunicator::broadcast(at::Tensor& t) const {
  if (!t.defined() || !t.device().is_cpu()) throw make_error<CommError>("broadcast: the mpi backend takes CPU tensors");
  require_equal_across_ranks(t.numel(), "broadcast", "the number of elements");
  require_equal_across_ranks(static_cast<int64_t>(t.scalar_type()), "broadcast", "the dtype");
  at::Tensor work = t.is_contiguous() ? t : t.contiguous();
  auto* bytes = static_cast<char*>(work.data_ptr());
  const int64_t total = work.numel() * static_cast<int64_t>(work.element_size());
  for (int64_t offset = 0; offset < total; offset += kMaxElementsPerCall) {
    const int count = static_cast<int>(std::min(kMaxElementsPerCall, total - offset));
    check_mpi(MPI_Bcast(bytes + offset, count, MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast(tensor)");
  }
  if (!work.is_same(t)) t.copy_(work);
}

void MpiCommunicator::broadcast(std::string& text) const {
  int64_t length = static_cast<int64_t>(text.size());
  check_mpi(MPI_Bcast(&length, 1, MPI_INT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast(length)");
  text.resize(static_cast<size_t>(length));
  for (int64_t offset = 0; offset < length; offset += kMaxElementsPerCall) {
    const int count = static_cast<int>(std::min(kMaxElementsPerCall, length - offset));
    check_mpi(MPI_Bcast(text.data() + offset, count, MPI_CHAR, 0, MPI_COMM_WORLD), "MPI_Bcast(text)");
  }
}

int MpiCommunicator::all_reduce_flag(int flag, FlagReduction reduction) const {
  int result = flag;
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &result, 1, MPI_INT, reduction == FlagReduction::kMax ? MPI_MAX : MPI_MIN,
                          MPI_COMM_WORLD),
            "MPI_Allreduce(flag)");
  return result;
}

}  // namespace switchdiff::dist
