#pragma once
// Input checks done once, on rank 0, with the verdict shared (docs/style.md: a lone throwing rank would
// leave the others blocked in a collective, and N ranks printing the same message helps no one).
#include <functional>

#include "dist/communicator.h"

namespace switchdiff::pipeline {

// Collective. Runs `check` on rank 0 only. When it throws a switchdiff::Error, every rank throws an error
// with the same message and exit code (ConfigError-like for 1, IoError for 2); otherwise all return.
void check_on_root(const dist::Communicator& comm, const std::function<void()>& check);

}  // namespace switchdiff::pipeline
