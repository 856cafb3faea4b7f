#include "cli/commands.h"

namespace switchdiff::cli {

const std::vector<Command>& all_commands() {
  static const std::vector<Command> commands{sample_command()};
  return commands;
}

}  // namespace switchdiff::cli
