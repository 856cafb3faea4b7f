#include "dist/communicator.h"

#include <ATen/ATen.h>

#include <cstdlib>

#include "core/error.h"
#include "dist/mpi_communicator.h"
#include "dist/mpi_session.h"
#include "dist/tensor_checks.h"

#if SWITCHDIFF_HAVE_NCCL
#include "dist/cuda_device.h"
#include "dist/nccl_communicator.h"
#endif

namespace switchdiff::dist {

// The serial backend checks its arguments like the others, so a mistake shows up in a one-rank test.
void SerialCommunicator::all_reduce_sum(at::Tensor& t) const {
  detail::require_float64(t, "all_reduce_sum", /*allow_cuda=*/true);
}

at::Tensor SerialCommunicator::all_gather(const at::Tensor& local) const {
  detail::require_gatherable(local, "all_gather");
  return local.clone();
}

void SerialCommunicator::broadcast(at::Tensor& t) const {
  if (!t.defined()) throw make_error<CommError>("broadcast: the tensor is undefined");
}

bool built_with_nccl() {
#if SWITCHDIFF_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

int visible_cuda_devices() {
#if SWITCHDIFF_HAVE_NCCL
  return cuda_device_count_or_zero();
#else
  return 0;
#endif
}

bool launched_by_mpi() {
  if (MpiSession::active() && MpiSession::world_size() > 1) return true;
  auto is_set = [](const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0';
  };
  if (is_set("OMPI_COMM_WORLD_SIZE") || is_set("PMI_SIZE") || is_set("PMIX_RANK")) return true;
  // srun sets SLURM_PROCID for every task; a one-task allocation is not a multi-rank launch.
  const char* tasks = std::getenv("SLURM_NTASKS");
  return is_set("SLURM_PROCID") && tasks != nullptr && std::atoi(tasks) > 1;
}

namespace {

std::unique_ptr<Communicator> make_nccl() {
#if SWITCHDIFF_HAVE_NCCL
  if (!MpiSession::active()) {
    throw make_error<ConfigError>("backend nccl needs MPI for its bootstrap (an MpiSession in main)");
  }
  return std::make_unique<NcclCommunicator>();
#else
  throw make_error<ConfigError>(
      "backend nccl: built without NCCL; rebuild with CUDA toolkit at /usr/local/cuda "
      "(nccl.h, libnccl, libcudart) or use --run.backend mpi");
#endif
}

}  // namespace

std::unique_ptr<Communicator> make_communicator(const std::string& backend) {
  if (backend == "serial") return std::make_unique<SerialCommunicator>();
  if (backend == "mpi") return std::make_unique<MpiCommunicator>();
  if (backend == "nccl") {
    if (built_with_nccl() && visible_cuda_devices() == 0) {
      throw make_error<ConfigError>(
          "backend nccl: no CUDA device visible (check CUDA_VISIBLE_DEVICES and the "
          "driver); use --run.backend mpi");
    }
    return make_nccl();
  }
  if (backend == "auto") {
    if (MpiSession::active()) {
      // Decided collectively: device visibility may differ per node, and ranks that chose different
      // backends would deadlock in their constructors.
      auto mpi = std::make_unique<MpiCommunicator>();
      if (built_with_nccl() && mpi->all(visible_cuda_devices() > 0)) return make_nccl();
      if (mpi->size() > 1 || launched_by_mpi()) return mpi;
    }
    return std::make_unique<SerialCommunicator>();
  }
  throw make_error<ConfigError>("unknown communicator backend {:?}; allowed: auto, serial, mpi, nccl", backend);
}

}  // namespace switchdiff::dist
