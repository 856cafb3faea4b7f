#include "dist/mpi_session.h"

#include <cstdio>
#include <cstdlib>

#include "dist/mpi_check.h"

namespace switchdiff::dist {

MpiSession::MpiSession(int* argc, char*** argv) {
  if (active()) return;  // adopted: someone else initialized MPI and will finalize it
  int provided = 0;
  // FUNNELED: torch may run its own threads, but only the main thread makes MPI calls.
  detail::check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  owns_ = true;
}

MpiSession::~MpiSession() {
  if (!owns_ || !active()) return;
  MPI_Finalize();  // errors here cannot be reported usefully; the job is ending
}

bool MpiSession::active() {
  int initialized = 0;
  int finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized != 0 && finalized == 0;
}

int MpiSession::world_rank() {
  int rank = 0;
  if (active()) detail::check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &rank), "MPI_Comm_rank");
  return rank;
}

int MpiSession::world_size() {
  int size = 1;
  if (active()) detail::check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &size), "MPI_Comm_size");
  return size;
}

void MpiSession::abort(int exit_code) {
  std::fflush(stdout);
  std::fflush(stderr);
  if (active()) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::exit(exit_code);
}

}  // namespace switchdiff::dist
