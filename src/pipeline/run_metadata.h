#pragma once
// What every output file records about the run that made it (docs/formats.md root attributes).
#include <string>

namespace switchdiff::io {
class H5File;
}

namespace switchdiff::pipeline {

struct RunMetadata {
  std::string command;  // the command line
  std::string config;   // resolved INI text
  int world_size = 1;
};

std::string switchdiff_version();
std::string git_commit();  // at build time; "unknown" outside a git checkout
std::string utc_now();     // ISO 8601, e.g. 2026-11-27T13:05:00Z

// Writes switchdiff_version, git_commit, created_utc, command, config, world_size on "/".
void write_run_metadata(io::H5File& file, const RunMetadata& meta);

}  // namespace switchdiff::pipeline
