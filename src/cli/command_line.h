#pragma once
// Boost.Program_options front end (docs/cli.md): `switchdiff <command> [--config FILE.ini] [--section.key v]
// [command flags] [FILE]`. INI sections map to dotted keys; the command line overrides the file; unknown
// keys are ConfigErrors that point at --help.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"

namespace switchdiff::cli {

// A command-specific flag that is not part of the INI config (e.g. --png FILE, --dataset FILE).
struct Flag {
  std::string name;
  std::string help;
  bool required = false;
  bool is_switch = false;  // takes no value (--dry-run); present in ParsedCommandLine::flags as "true" when given
};

struct CommandSpec {
  std::string name;
  std::string summary;
  std::vector<std::string> sections;  // config sections it reads (config_keys.h)
  std::vector<Flag> flags;
  std::optional<Flag> positional;  // e.g. `info FILE`
  // INI file read when neither --config nor --experts.quality is given (`switchdiff sweep` runs the bundled
  // demo, docs/cli.md); "" for none.
  std::string default_config;
};

struct ParsedCommandLine {
  core::Config config;
  std::map<std::string, std::string> flags;  // given flags and the positional argument by name
  std::string config_file;                   // "" when none
  bool default_config_used = false;          // config_file is the command's default_config
  bool help = false;
  std::string help_text;
  std::string command_line;  // argv joined, for the results file
};

// Parses argv[2..] for `spec`. Throws ConfigError with the fix for unknown keys, bad syntax, missing
// required flags or an unreadable --config file.
ParsedCommandLine parse_command_line(const CommandSpec& spec, int argc, char** argv);

}  // namespace switchdiff::cli
