#include "dist/mpi_check.h"

#include "core/error.h"

namespace switchdiff::dist::detail {

void check_mpi(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  int rank = -1;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);  // best effort: we are already failing
  throw make_error<CommError>("{} failed on rank {}: {} (MPI error code {})", call, rank,
                              length > 0 ? std::string(text, length) : std::string("unknown error"), code);
}

}  // namespace switchdiff::dist::detail
