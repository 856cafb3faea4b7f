#include "pipeline/durable_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/log.h"

namespace switchdiff::pipeline {
namespace {

void sync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) throw make_error<IoError>("{}: cannot open to flush it to disk: {}", path, std::strerror(errno));
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  // Some filesystems cannot fsync a folder (EINVAL); the data itself is synced, which is what matters most.
  if (rc != 0 && !(error == EINVAL && (flags & O_DIRECTORY))) {
    throw make_error<IoError>("{}: cannot flush to disk: {}", path, std::strerror(error));
  }
}

}  // namespace

std::string partial_path(const std::string& final_path) { return final_path + ".partial"; }

void sync_file(const std::string& path) { sync_path(path, O_RDONLY); }

void commit_file(const std::string& partial, const std::string& final_path) {
  sync_file(partial);
  if (std::rename(partial.c_str(), final_path.c_str()) != 0) {
    throw make_error<IoError>("cannot rename {} to {}: {}", partial, final_path, std::strerror(errno));
  }
  const std::filesystem::path parent = std::filesystem::path(final_path).parent_path();
  sync_path(parent.empty() ? "." : parent.string(), O_RDONLY | O_DIRECTORY);
}

void write_durably(const std::string& final_path, const std::function<void(const std::string& partial)>& write,
                   bool private_partial) {
  const std::string partial =
      private_partial ? fmt::format("{}.{}", partial_path(final_path), ::getpid()) : partial_path(final_path);
  try {
    if (::unlink(partial.c_str()) != 0 && errno != ENOENT) {
      throw make_error<IoError>("{}: cannot remove a stale partial file: {}", partial, std::strerror(errno));
    }
    write(partial);
    commit_file(partial, final_path);
  } catch (const std::filesystem::filesystem_error& e) {
    ::unlink(partial.c_str());
    throw make_error<IoError>("{}: {}", final_path, e.code().message());
  } catch (...) {
    ::unlink(partial.c_str());
    throw;
  }
}

void move_aside_damaged(const std::string& path, const std::string& why) {
  const std::string aside = path + ".damaged";
  core::log_warning(fmt::format("{} is damaged ({}); moved aside to {} and computed again", path, why, aside));
  if (std::rename(path.c_str(), aside.c_str()) != 0) {
    throw make_error<IoError>("cannot move the damaged file {} aside to {}: {}", path, aside, std::strerror(errno));
  }
}

void create_folders(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) throw make_error<IoError>("{}: cannot create the folder: {}", path, error.message());
}

void remove_tree(const std::string& path) {
  std::error_code error;
  std::filesystem::remove_all(path, error);
  if (error) throw make_error<IoError>("{}: cannot remove: {}", path, error.message());
}

}  // namespace switchdiff::pipeline
