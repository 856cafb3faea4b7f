#include "dist/nccl_communicator.h"

#include <ATen/ATen.h>
#include <mpi.h>

#include <cstring>

#include "core/error.h"
#include "dist/cuda_check.h"
#include "dist/cuda_device.h"
#include "dist/mpi_check.h"
#include "dist/tensor_checks.h"

namespace switchdiff::dist {
namespace {

using detail::check_cuda;
using detail::check_nccl;

ncclDataType_t nccl_type_of(at::ScalarType type) {
  switch (type) {
    case at::kDouble:
      return ncclFloat64;
    case at::kFloat:
      return ncclFloat32;
    case at::kLong:
      return ncclInt64;
    case at::kInt:
      return ncclInt32;
    case at::kByte:
      return ncclUint8;
    default:
      throw make_error<CommError>("NCCL: dtype {} is not supported", std::string(c10::toString(type)));
  }
}

}  // namespace

struct NcclCommunicator::Cuda {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  void* staging = nullptr;  // grown on demand for CPU tensors
  size_t staging_bytes = 0;

  void* staging_buffer(size_t bytes) {
    if (bytes > staging_bytes) {
      if (staging) cudaFree(staging);
      staging = nullptr;
      staging_bytes = 0;
      check_cuda(cudaMalloc(&staging, bytes), "cudaMalloc(staging)");
      staging_bytes = bytes;
    }
    return staging;
  }
  void synchronize() const { check_cuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize"); }

  ~Cuda() {
    // No throwing from here: a failed teardown must not mask the error that ended the job.
    if (comm) ncclCommDestroy(comm);
    if (stream) cudaStreamDestroy(stream);
    if (staging) cudaFree(staging);
  }
};

NcclCommunicator::NcclCommunicator() : cuda_(std::make_unique<Cuda>()) {
  // Every rank must learn whether any rank lacks a GPU before entering ncclCommInitRank, or the others hang.
  const bool has_device = cuda_device_count_or_zero() > 0;
  if (!control_.all(has_device)) {
    throw make_error<ConfigError>(
        "backend nccl: no CUDA device visible on {} (check CUDA_VISIBLE_DEVICES and "
        "the driver); use --run.backend mpi",
        has_device ? "another rank" : "this rank");
  }
  device_ = select_cuda_device(control_.local_rank());

  ncclUniqueId id;
  std::memset(&id, 0, sizeof(id));
  int id_ok = 1;
  if (control_.rank() == 0) id_ok = ncclGetUniqueId(&id) == ncclSuccess ? 1 : 0;
  detail::check_mpi(MPI_Bcast(&id_ok, 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Bcast(ncclGetUniqueId status)");
  if (!id_ok) throw make_error<CommError>("ncclGetUniqueId failed on rank 0 (see rank 0's NCCL_DEBUG=WARN output)");
  detail::check_mpi(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast(ncclUniqueId)");

  check_cuda(cudaStreamCreate(&cuda_->stream), "cudaStreamCreate");
  check_nccl(ncclCommInitRank(&cuda_->comm, control_.size(), id, control_.rank()), "ncclCommInitRank");
}

NcclCommunicator::~NcclCommunicator() = default;

void NcclCommunicator::all_reduce_sum(at::Tensor& t) const {
  detail::require_float64(t, "all_reduce_sum", /*allow_cuda=*/true);
  if (t.numel() == 0) return;
  at::Tensor work = t.is_contiguous() ? t : t.contiguous();
  const size_t count = static_cast<size_t>(work.numel());
  if (work.device().is_cuda()) {
    if (work.device().index() != device_) {
      throw make_error<CommError>("all_reduce_sum: tensor on {} but this rank's NCCL device is cuda:{}",
                                  work.device().str(), device_);
    }
    check_nccl(ncclAllReduce(work.data_ptr(), work.data_ptr(), count, ncclFloat64, ncclSum, cuda_->comm, cuda_->stream),
               "ncclAllReduce", cuda_->comm);
    cuda_->synchronize();
  } else {
    const size_t bytes = count * sizeof(double);
    void* device_buffer = cuda_->staging_buffer(bytes);
    check_cuda(cudaMemcpyAsync(device_buffer, work.data_ptr(), bytes, cudaMemcpyHostToDevice, cuda_->stream),
               "cudaMemcpyAsync(host to device)");
    check_nccl(ncclAllReduce(device_buffer, device_buffer, count, ncclFloat64, ncclSum, cuda_->comm, cuda_->stream),
               "ncclAllReduce", cuda_->comm);
    check_cuda(cudaMemcpyAsync(work.data_ptr(), device_buffer, bytes, cudaMemcpyDeviceToHost, cuda_->stream),
               "cudaMemcpyAsync(device to host)");
    cuda_->synchronize();
  }
  if (!work.is_same(t)) t.copy_(work);
}

at::Tensor NcclCommunicator::all_gather(const at::Tensor& local) const {
  detail::require_gatherable(local, "all_gather");
  if (!local.device().is_cuda()) return control_.all_gather(local);
  const bool lengths_agree = control_.all_reduce_flag(static_cast<int>(local.numel()), FlagReduction::kMax) ==
                             control_.all_reduce_flag(static_cast<int>(local.numel()), FlagReduction::kMin);
  if (!lengths_agree) throw make_error<CommError>("all_gather: the local length differs across ranks");
  const at::Tensor input = local.contiguous();
  at::Tensor gathered = at::empty({local.numel() * size()}, local.options());
  check_nccl(ncclAllGather(input.data_ptr(), gathered.data_ptr(), static_cast<size_t>(local.numel()),
                           nccl_type_of(local.scalar_type()), cuda_->comm, cuda_->stream),
             "ncclAllGather", cuda_->comm);
  cuda_->synchronize();
  return gathered;
}

void NcclCommunicator::broadcast(at::Tensor& t) const {
  if (!t.defined() || !t.device().is_cuda()) {
    control_.broadcast(t);
    return;
  }
  at::Tensor work = t.is_contiguous() ? t : t.contiguous();
  check_nccl(ncclBroadcast(work.data_ptr(), work.data_ptr(), static_cast<size_t>(work.numel()),
                           nccl_type_of(work.scalar_type()), 0, cuda_->comm, cuda_->stream),
             "ncclBroadcast", cuda_->comm);
  cuda_->synchronize();
  if (!work.is_same(t)) t.copy_(work);
}

}  // namespace switchdiff::dist
