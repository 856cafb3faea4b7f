#pragma once
// Helpers for the io tests: run a Python script of tests/io/py (Debian's numpy / h5py), write and read raw files.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/test_support.h"
#include "core/error.h"

namespace switchdiff::io::test {

// Runs the source tree's Python `script` (e.g. "tests/io/py/write_npy_arrays.py", numpy / h5py) with python()
// (/usr/bin/python3) in `folder`, passing `args`; fails the test on a non-zero exit and returns the output.
inline std::string run_python_script(const std::string& folder, const std::string& script,
                                     const std::vector<std::string>& args = {}) {
  const std::string command = switchdiff::testing::python_script_command(folder, script, args);
  const auto result = switchdiff::testing::run_command(command);
  EXPECT_EQ(result.exit_code, 0) << command << "\n--- output ---\n" << result.output;
  return result.output;
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  std::ostringstream content;
  content << stream.rdbuf();
  return content.str();
}

// The message of the exception of type E thrown by f (fails the test when none or another type is thrown).
template <class E, class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected exception type: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected an exception";
  return {};
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

}  // namespace switchdiff::io::test
