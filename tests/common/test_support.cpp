#include "common/test_support.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

namespace switchdiff::testing {
namespace {
std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::string(value) : fallback;
}
}  // namespace

std::string source_dir() { return env_or("SWITCHDIFF_SOURCE_DIR", SWITCHDIFF_SOURCE_DIR_DEFAULT); }
std::string binary_dir() { return env_or("SWITCHDIFF_BINARY_DIR", SWITCHDIFF_BINARY_DIR_DEFAULT); }
std::string python() { return env_or("SWITCHDIFF_PYTHON", SWITCHDIFF_PYTHON_DEFAULT); }
std::string switchdiff_exe() { return env_or("SWITCHDIFF_EXE", binary_dir() + "/src/cli/switchdiff"); }

std::string scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? fmt::format("{}.{}", info->test_suite_name(), info->name()) : "global";
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  const std::filesystem::path dir = std::filesystem::path(binary_dir()) / "test_scratch" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::string tiny_fixtures_dir() {
  const std::string dir = binary_dir() + "/fixtures";
  const std::string stamp = dir + "/.complete";
  const std::string script = source_dir() + "/tests/fixtures/make_tiny_experts.py";
  if (std::filesystem::exists(stamp) &&
      std::filesystem::last_write_time(stamp) >= std::filesystem::last_write_time(script)) {
    return dir;
  }
  // Several test processes may build at once: build into a private folder, then rename.
  const std::string tmp = fmt::format("{}.tmp.{}", dir, static_cast<long>(::getpid()));
  std::filesystem::remove_all(tmp);
  const auto result = run_command(fmt::format("{} {} --out {}", python(), script, tmp));
  if (result.exit_code != 0) throw std::runtime_error("make_tiny_experts.py failed:\n" + result.output);
  std::ofstream(tmp + "/.complete") << "ok\n";
  std::error_code ignored;
  std::filesystem::remove_all(dir + ".old." + std::to_string(::getpid()), ignored);
  if (std::filesystem::exists(dir)) std::filesystem::rename(dir, dir + ".old." + std::to_string(::getpid()), ignored);
  std::filesystem::rename(tmp, dir, ignored);
  if (ignored) std::filesystem::remove_all(tmp);  // another process won the race; its copy is identical
  std::filesystem::remove_all(dir + ".old." + std::to_string(::getpid()), ignored);
  return dir;
}

CommandResult run_command(const std::string& command_line) {
  CommandResult result;
  FILE* pipe = popen((command_line + " 2>&1").c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed: " + command_line);
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

std::string python_script_command(const std::string& folder, const std::string& script,
                                  const std::vector<std::string>& args) {
  std::string command =
      fmt::format("(cd {} && {} {}", shell_quote(folder), python(), shell_quote(source_dir() + "/" + script));
  for (const std::string& arg : args) command += " " + shell_quote(arg);
  return command + ")";
}

}  // namespace switchdiff::testing
