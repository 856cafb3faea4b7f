#include "pipeline/output_path.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace switchdiff::pipeline {

void ensure_writable_output(const std::string& path) {
  if (path.empty()) throw ConfigError("output.path is empty; give --output.path FILE.h5");
  const std::filesystem::path target(path);
  if (std::filesystem::is_directory(target)) {
    throw make_error<ConfigError>("output.path {} is a folder; give a file name such as {}/results.h5", path, path);
  }
  const std::filesystem::path parent = target.has_parent_path() ? target.parent_path() : ".";
  std::error_code error;
  std::filesystem::create_directories(parent, error);
  if (error || !std::filesystem::is_directory(parent)) {
    throw make_error<ConfigError>("output.path {}: cannot create the folder {} ({}); choose a writable location", path,
                                  parent.string(), error ? error.message() : "not a folder");
  }
  const std::filesystem::path probe = parent / (".switchdiff-write-test." + std::to_string(::getpid()));
  {
    std::ofstream out(probe);
    if (!out) {
      throw make_error<ConfigError>("output.path {}: the folder {} is not writable; choose another --output.path", path,
                                    parent.string());
    }
  }
  std::filesystem::remove(probe, error);
}

void refuse_existing_output(const std::string& path) {
  if (!std::filesystem::exists(path)) return;
  throw make_error<ConfigError>(
      "{} already exists and is never overwritten; choose another --output.path or delete "
      "the file",
      path);
}

}  // namespace switchdiff::pipeline
