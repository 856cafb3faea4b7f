#include "dist/local_rank.h"

#include <cerrno>
#include <cstdlib>

#include "core/error.h"

namespace switchdiff::dist {

std::optional<int> local_rank_from_environment() {
  // Order: the scheduler's view first (srun may wrap an MPI that sets its own variables).
  for (const char* name : {"SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "PMI_LOCAL_RANK"}) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') continue;
    char* end = nullptr;
    errno = 0;
    const long parsed = std::strtol(value, &end, 10);
    if (errno != 0 || *end != '\0' || parsed < 0 || parsed > 1'000'000) {
      throw make_error<ConfigError>(
          "environment variable {}={:?} is not a local rank (a non-negative integer); "
          "unset it or launch with srun/mpirun",
          name, value);
    }
    return static_cast<int>(parsed);
  }
  return std::nullopt;
}

}  // namespace switchdiff::dist
