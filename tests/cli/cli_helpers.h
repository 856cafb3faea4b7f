#pragma once
// Running the real switchdiff executable in tests, and reading what it wrote.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/test_support.h"

namespace switchdiff::testing {

// `switchdiff <args>` (serial); output and exit code.
inline CommandResult switchdiff(const std::string& args) {
  return run_command(fmt::format("{} {}", switchdiff_exe(), args));
}

// `mpirun -np N switchdiff <args>`.
inline CommandResult switchdiff_mpi(int ranks, const std::string& args) {
  return run_command(
      fmt::format("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np {} "
                  "--oversubscribe --allow-run-as-root {} {}",
                  ranks, switchdiff_exe(), args));
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace switchdiff::testing
