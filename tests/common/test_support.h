#pragma once
// Helpers shared by the test suites: where things are, scratch folders, running the CLI.
#include <string>
#include <vector>

namespace switchdiff::testing {

std::string source_dir();  // repository root
std::string binary_dir();  // CMake build folder
std::string python();      // /usr/bin/python3 (Debian's, with torch, numpy, scipy, h5py)
// Path of the switchdiff executable (SWITCHDIFF_EXE, else <binary_dir>/src/cli/switchdiff).
std::string switchdiff_exe();

// A fresh empty folder under the build tree, unique per test: <binary_dir>/test_scratch/<suite>.<test>.
std::string scratch_dir();

// Fixtures built by tests/fixtures/make_tiny_experts.py into <binary_dir>/fixtures (once, cached
// by a stamp file). Returns that folder.
std::string tiny_fixtures_dir();

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
// Runs a shell command line, capturing its output.
CommandResult run_command(const std::string& command_line);

// `text` in single quotes for the shell (a ' inside becomes '\'').
std::string shell_quote(const std::string& text);
// The command line that runs `script` of the source tree (relative to source_dir(), e.g. tests/io/py/check_h5_types.py)
// with python() in the folder `folder`, every argument quoted: (cd 'FOLDER' && PYTHON 'SOURCE/SCRIPT' 'ARG'...).
std::string python_script_command(const std::string& folder, const std::string& script,
                                  const std::vector<std::string>& args = {});

}  // namespace switchdiff::testing
