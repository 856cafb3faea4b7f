#pragma once
// The subcommands of `switchdiff` (docs/cli.md). Each lives in its own cmd_<name>.cpp: a CommandSpec
// (sections, flags, help) and a run function; main.cpp only dispatches and handles errors.
#include <functional>
#include <vector>

#include "cli/command_line.h"
#include "dist/communicator.h"

namespace switchdiff::cli {

struct Command {
  CommandSpec spec;
  // Runs on every rank; returns the exit code (0 done). Errors are thrown (core/error.h).
  std::function<int(const ParsedCommandLine&, const dist::Communicator&)> run;
  bool uses_mpi = true;  // false for commands that are single-process by nature (info, prepare)
};

const std::vector<Command>& all_commands();

// Each cmd_<name>.cpp provides one of these.
Command sample_command();
Command prepare_command();
Command info_command();
Command stats_command();
Command fid_command();
Command nll_command();
Command sweep_command();

}  // namespace switchdiff::cli
