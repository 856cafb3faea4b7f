#pragma once
// Python references and file builders for the CLI tests: run a script of tests/cli/py with /usr/bin/python3 (Debian's
// numpy, scipy, h5py, torch) in a folder, and a shared scratch folder for suites that build their inputs once.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/test_support.h"

namespace switchdiff::testing {

// Runs the source tree's Python `script` (e.g. "tests/cli/py/make_info_files.py") with python() in `folder`, passing
// `args`; fails the test on a non-zero exit and returns the output.
inline std::string run_python_script(const std::string& folder, const std::string& script,
                                     const std::vector<std::string>& args = {}) {
  const std::string command = python_script_command(folder, script, args);
  const auto result = run_command(command);
  EXPECT_EQ(result.exit_code, 0) << command << "\n--- output ---\n" << result.output;
  return result.output;
}

// <binary_dir>/test_scratch/<name>, emptied: for inputs a whole suite shares (SetUpTestSuite).
inline std::string suite_dir(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(binary_dir()) / "test_scratch" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// The value after "<key>: " on the line that starts with it (e.g. "FID: 1.25" -> "1.25"); "" when absent.
inline std::string line_value(const std::string& output, const std::string& key) {
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(key + ": ", 0) == 0) return line.substr(key.size() + 2);
  }
  return "";
}

}  // namespace switchdiff::testing
