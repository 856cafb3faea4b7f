// Helper program for test_mpi_abort: under mpirun, the last rank fails while the others wait in a
// collective; MpiSession::abort must end the whole job with the given exit code instead of hanging.
#include <cstdio>
#include <cstdlib>

#include "dist/communicator.h"
#include "dist/mpi_session.h"

int main(int argc, char** argv) {
  switchdiff::dist::MpiSession session(&argc, &argv);
  const auto comm = switchdiff::dist::make_communicator("mpi");
  const int code = argc > 1 ? std::atoi(argv[1]) : 2;
  if (comm->rank() == comm->size() - 1) {
    std::fprintf(stderr, "[rank %d] error: probe failure\n", comm->rank());
    switchdiff::dist::MpiSession::abort(code);
  }
  comm->barrier();  // never completes: the failing rank does not arrive
  std::puts("unreachable: barrier completed");
  return 0;
}
