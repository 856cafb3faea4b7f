#pragma once
// Rank within the node, from the launcher's environment (docs/design.md): it picks the GPU of a rank.
#include <optional>

namespace switchdiff::dist {

// SLURM_LOCALID (srun), OMPI_COMM_WORLD_LOCAL_RANK (Open MPI mpirun), MPI_LOCALRANKID (MPICH hydra),
// PMI_LOCAL_RANK; the first one set wins. Empty when none is set. A set but malformed value throws
// ConfigError naming the variable.
std::optional<int> local_rank_from_environment();

}  // namespace switchdiff::dist
