#include "pipeline/work_folder.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "pipeline/durable_file.h"

namespace switchdiff::pipeline {

std::string work_folder(const std::string& output_path) { return output_path + ".work"; }

FolderLock::FolderLock(const std::string& lock_path, const std::string& what, bool wait)
    : fd_(::open(lock_path.c_str(), O_RDWR | O_CREAT, 0644)) {
  if (fd_ < 0) {
    throw make_error<IoError>("{}: cannot create the lock file: {}; check that the folder is writable", lock_path,
                              std::strerror(errno));
  }
  if (::flock(fd_, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    std::string holder;
    if (error == EWOULDBLOCK) {
      char text[32] = {};
      if (::pread(fd_, text, sizeof(text) - 1, 0) > 0) holder = fmt::format(" (pid {})", std::string(text));
    }
    ::close(fd_);
    if (error == EWOULDBLOCK) {
      throw make_error<ConfigError>(
          "another switchdiff run{} is writing {} (it holds {}); wait for it to finish, or choose another "
          "--output.path",
          holder, what, lock_path);
    }
    throw make_error<IoError>("{}: cannot lock: {}", lock_path, std::strerror(error));
  }
  // The holder's pid, for the message above (advisory only: the lock itself is the flock).
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
    // Not fatal: the pid only improves another run's message.
  }
}

FolderLock::~FolderLock() {
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

std::string identity_difference(const std::string& stored, const std::string& current) {
  auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  };
  const auto a = lines(stored), b = lines(current);
  std::string diff;
  for (const auto& l : a)
    if (std::find(b.begin(), b.end(), l) == b.end()) diff += "\n  stored:  " + l;
  for (const auto& l : b)
    if (std::find(a.begin(), a.end(), l) == a.end()) diff += "\n  current: " + l;
  return diff;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_text(const std::string& path, const std::string& text) {
  write_durably(path, [&](const std::string& partial) {
    std::ofstream out(partial, std::ios::trunc);
    out << text;
    if (!out.flush()) throw make_error<IoError>("{}: cannot write: {}", partial, std::strerror(errno));
  });
}

}  // namespace switchdiff::pipeline
