#pragma once
// The one way switchdiff puts a finished file in place: write it whole under `<final>.partial`, flush it to
// disk (fsync), rename it over `final` (atomic on POSIX), then fsync the folder so the rename itself survives a
// crash. A reader therefore sees either the old file or the complete new one, never a half-written file.
#include <string>

namespace switchdiff::pipeline {

std::string partial_path(const std::string& final_path);  // "<final>.partial"

// fsync(partial), rename(partial, final), fsync(folder). IoError naming the file and the system's reason
// (e.g. "No space left on device") on failure.
void commit_file(const std::string& partial, const std::string& final_path);

// fsync of one file's contents (IoError on failure).
void sync_file(const std::string& path);

}  // namespace switchdiff::pipeline
