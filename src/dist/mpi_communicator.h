#pragma once
// Communicator over MPI_COMM_WORLD (CPU tensors). Requires an active MpiSession (mpi_session.h).
// The constructor switches MPI_COMM_WORLD to MPI_ERRORS_RETURN so failures reach us as CommError
// instead of killing the job without a message.
#include "dist/communicator.h"

namespace switchdiff::dist {

class MpiCommunicator final : public Communicator {
 public:
  // Throws ConfigError when MPI is not initialized.
  MpiCommunicator();

  std::string backend() const override { return "mpi"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  void barrier() const override;
  void all_reduce_sum(at::Tensor& t) const override;
  at::Tensor all_gather(const at::Tensor& local) const override;
  void broadcast(at::Tensor& t) const override;
  void broadcast(std::string& text) const override;
  int all_reduce_flag(int flag, FlagReduction reduction) const override;

 private:
  int rank_ = 0;
  int size_ = 1;
  int local_rank_ = 0;
};

}  // namespace switchdiff::dist
