#include "pipeline/durable_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"

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

}  // namespace switchdiff::pipeline
