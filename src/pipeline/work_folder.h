#pragma once
// What a resumable job keeps beside its output while it runs (docs/formats.md#work-folders): the folder
// `<output>.work/` with `identity.txt` (what the run computes, one `key = value` per line), `lock` (held by the
// run that writes there) and `blocks/` (one record per finished block, each committed whole by
// pipeline/durable_file.h). Shared by `sample`, `nll` (pipeline/block_rounds.h) and `sweep`
// (pipeline/sweep_results.cpp).
#include <string>

namespace switchdiff::pipeline {

std::string work_folder(const std::string& output_path);  // "<output>.work"

// Exclusive advisory lock (flock) on a file for the lifetime of the object; the kernel releases it when the
// process dies, so a killed run never leaves it held. `wait`: block until the holder is done (sweep array
// tasks take turns); otherwise a lock held by another process is a ConfigError (exit 1) that says another
// run (its pid) is writing `what` and to wait for it or choose another output path.
class FolderLock {
 public:
  FolderLock(const std::string& lock_path, const std::string& what, bool wait);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

// The lines of `current` missing from `stored` and vice versa ("\n  stored:  ...", "\n  current: ..."), for a
// refused resume.
std::string identity_difference(const std::string& stored, const std::string& current);

// Text files of the work folder: read whole ("" when missing); written whole through write_durably.
std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);

}  // namespace switchdiff::pipeline
