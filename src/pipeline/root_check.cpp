#include "pipeline/root_check.h"

#include <string>

#include "core/error.h"

namespace switchdiff::pipeline {

void check_on_root(const dist::Communicator& comm, const std::function<void()>& check) {
  std::string verdict;  // "" = passed, else "<exit code><message>"
  if (comm.is_root()) {
    try {
      check();
    } catch (const Error& e) {
      verdict = std::to_string(e.exit_code()) + e.what();
    }
  }
  comm.broadcast(verdict);
  if (verdict.empty()) return;
  const std::string message = verdict.substr(1);
  switch (verdict[0]) {
    case '1':
      throw InputError(message);
    case '3':
      throw Interrupted(message);
    default:
      throw IoError(message);
  }
}

}  // namespace switchdiff::pipeline
