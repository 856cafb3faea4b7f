#pragma once
// Error hierarchy (docs/style.md). Throw at boundaries, catch once in main().
// Each error maps to a docs/cli.md exit code: 1 = bad input or configuration, 2 = runtime failure.
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace switchdiff {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
  // docs/cli.md exit code for this kind of failure.
  virtual int exit_code() const { return 2; }
};

// A bad key, value or combination of options. Exit code 1.
class ConfigError : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return 1; }
};

// A bad model or data file, or a model that misbehaves (shape, NaN). Exit code 1.
class InputError : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return 1; }
};

// A file system or HDF5 failure on our own outputs. Exit code 2 (1 when the user can fix the path).
class IoError : public Error {
 public:
  using Error::Error;
};

// An MPI / NCCL failure. Exit code 2.
class CommError : public Error {
 public:
  using Error::Error;
};

// Stopped by SIGTERM/SIGUSR1/SIGINT with progress saved. Exit code 3 (docs/cli.md).
class Interrupted : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return 3; }
};

// Builds an error of type E with a fmt-formatted message: throw make_error<InputError>("{}: ...", path).
template <class E, class... Args>
E make_error(fmt::format_string<Args...> format, Args&&... args) {
  return E(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace switchdiff
