#pragma once
// Collective operations over the ranks of one job (docs/design.md, docs/style.md).
//
// Contract:
//  - Every method is collective: all ranks call it in the same order with matching arguments
//    (same dtype; equal shapes unless a method says otherwise). A rank that skips one deadlocks the rest.
//  - Sums are float64. The serial and MPI backends take CPU tensors; the NCCL backend takes CUDA tensors
//    (reduced in place on the GPU) or CPU tensors (staged through a device buffer), so the same calling code
//    runs under every backend.
//  - Failures of the underlying library throw CommError naming the call and the library's message.
//  - A backend that needs MPI requires an MpiSession (mpi_session.h) alive for the communicator's lifetime;
//    destroy communicators before the session.
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

namespace switchdiff::dist {

// How all_reduce_flag combines the ranks' flags.
enum class FlagReduction { kMax, kMin };

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual std::string backend() const = 0;  // "serial" | "mpi" | "nccl"
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Rank within the node (selects the GPU): SLURM_LOCALID, OMPI_COMM_WORLD_LOCAL_RANK, ... (local_rank.h).
  virtual int local_rank() const = 0;

  virtual void barrier() const = 0;
  // In place: t <- sum over ranks of t. t: float64, same shape on every rank; CPU (serial, mpi) or
  // CPU/CUDA (nccl). Non-contiguous tensors are reduced through a contiguous copy.
  virtual void all_reduce_sum(at::Tensor& t) const = 0;
  // Concatenation, in rank order, of every rank's 1-D `local` (equal lengths on every rank, else CommError).
  // dtypes: float64, float32, int64, int32, uint8. Result: 1-D, size() * local.numel(), on local's device.
  virtual at::Tensor all_gather(const at::Tensor& local) const = 0;
  // In place: rank 0's values to every rank. t must have the same dtype and numel on every rank.
  virtual void broadcast(at::Tensor& t) const = 0;
  // Rank 0's text to every rank (other ranks' input is replaced, any length).
  virtual void broadcast(std::string& text) const = 0;
  // max or min of a small integer over ranks, e.g. "did any rank fail / ask to stop" (docs/style.md).
  virtual int all_reduce_flag(int flag, FlagReduction reduction) const = 0;

  // Conveniences over all_reduce_flag.
  bool any(bool value) const { return all_reduce_flag(value ? 1 : 0, FlagReduction::kMax) != 0; }
  bool all(bool value) const { return all_reduce_flag(value ? 1 : 0, FlagReduction::kMin) != 0; }
  bool is_root() const { return rank() == 0; }
};

// One process, no library: reductions are identities.
class SerialCommunicator final : public Communicator {
 public:
  std::string backend() const override { return "serial"; }
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  void barrier() const override {}
  void all_reduce_sum(at::Tensor& t) const override;
  at::Tensor all_gather(const at::Tensor& local) const override;
  void broadcast(at::Tensor& t) const override;
  void broadcast(std::string& text) const override {}
  int all_reduce_flag(int flag, FlagReduction reduction) const override { return flag; }
};

// True when this build contains the NCCL backend (CUDA toolkit with nccl.h found at configure time).
bool built_with_nccl();

// Number of CUDA devices this process can see; 0 without a driver, a device, or NCCL support in the build.
int visible_cuda_devices();

// True when the process looks launched by mpirun/srun: MPI is initialized with size > 1, or a launcher
// variable is set (OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK, SLURM_PROCID with SLURM_NTASKS > 1).
bool launched_by_mpi();

// backend: "auto" | "serial" | "mpi" | "nccl".
//  auto: nccl when built with it and a CUDA device is visible and MPI is initialized, else mpi when
//        launched by mpirun/srun, else serial.
//  mpi/nccl need an MpiSession. Unknown names and unavailable backends throw ConfigError saying why.
std::unique_ptr<Communicator> make_communicator(const std::string& backend);

}  // namespace switchdiff::dist
