#include "pipeline/run_metadata.h"

#include <ctime>

#include "io/h5_file.h"

#ifndef SWITCHDIFF_VERSION
#define SWITCHDIFF_VERSION "0.0.0"
#endif
#ifndef SWITCHDIFF_GIT_COMMIT
#define SWITCHDIFF_GIT_COMMIT "unknown"
#endif

namespace switchdiff::pipeline {

std::string switchdiff_version() { return SWITCHDIFF_VERSION; }
std::string git_commit() { return SWITCHDIFF_GIT_COMMIT; }

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

void write_run_metadata(io::H5File& file, const RunMetadata& meta) {
  file.set_string_attribute("/", "switchdiff_version", switchdiff_version());
  file.set_string_attribute("/", "git_commit", git_commit());
  file.set_string_attribute("/", "created_utc", utc_now());
  file.set_string_attribute("/", "command", meta.command);
  file.set_string_attribute("/", "config", meta.config);
  file.set_int_attribute("/", "world_size", meta.world_size);
}

}  // namespace switchdiff::pipeline
