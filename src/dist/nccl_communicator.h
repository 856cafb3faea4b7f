#pragma once
// Communicator over NCCL for float64 data on GPUs (docs/design.md), with MPI for bootstrap and control.
// Compiled only in NCCL builds (SWITCHDIFF_HAVE_NCCL); reach it through make_communicator("nccl").
//
// Bootstrap (as nccl-tests): rank 0 makes an ncclUniqueId, MPI_Bcast sends it, every rank selects the GPU
// local_rank % device_count and calls ncclCommInitRank. Collectives run on a private CUDA stream created
// blocking with respect to the legacy default stream (so work queued there by torch comes first) and are
// synchronized before returning. CPU tensors are staged through a device buffer for sums; CPU tensors in
// all_gather/broadcast, strings and flags go through MPI.
#include <memory>

#include "dist/communicator.h"
#include "dist/mpi_communicator.h"

namespace switchdiff::dist {

class NcclCommunicator final : public Communicator {
 public:
  // Requires an active MpiSession and a visible CUDA device (ConfigError otherwise).
  NcclCommunicator();
  ~NcclCommunicator() override;

  std::string backend() const override { return "nccl"; }
  int rank() const override { return control_.rank(); }
  int size() const override { return control_.size(); }
  int local_rank() const override { return control_.local_rank(); }
  int device() const { return device_; }
  void barrier() const override { control_.barrier(); }
  void all_reduce_sum(at::Tensor& t) const override;
  at::Tensor all_gather(const at::Tensor& local) const override;
  void broadcast(at::Tensor& t) const override;
  void broadcast(std::string& text) const override { control_.broadcast(text); }
  int all_reduce_flag(int flag, FlagReduction reduction) const override {
    return control_.all_reduce_flag(flag, reduction);
  }

 private:
  struct Cuda;  // ncclComm_t, stream and staging buffer: keeps nccl.h out of this header
  MpiCommunicator control_;
  int device_ = -1;
  std::unique_ptr<Cuda> cuda_;
};

}  // namespace switchdiff::dist
