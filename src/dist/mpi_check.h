#pragma once
// Internal to dist/: the one place MPI return codes become exceptions (docs/style.md).
#include <mpi.h>

#include <string>

namespace switchdiff::dist::detail {

// Throws CommError "<call> failed on rank R: <MPI_Error_string>" unless code == MPI_SUCCESS.
void check_mpi(int code, const char* call);

}  // namespace switchdiff::dist::detail
