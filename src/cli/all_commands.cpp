#include "cli/commands.h"

namespace switchdiff::cli {

const std::vector<Command>& all_commands() {
  static const std::vector<Command> commands{sample_command(),  nll_command(),  stats_command(), fid_command(),
                                             prepare_command(), info_command(), sweep_command()};
  return commands;
}

}  // namespace switchdiff::cli
