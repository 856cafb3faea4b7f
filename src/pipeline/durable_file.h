#pragma once
// The one way switchdiff puts a finished file in place: write it whole under `<final>.partial`, flush it to
// disk (fsync), rename it over `final` (atomic on POSIX), then fsync the folder so the rename itself survives a
// crash. A reader therefore sees either the old file or the complete new one, never a half-written file.
// Every filesystem failure on the way is an IoError (exit 2) naming the file and the system's reason
// ("No space left on device"), so the caller never sees a std::filesystem exception or a half file.
#include <functional>
#include <string>

namespace switchdiff::pipeline {

std::string partial_path(const std::string& final_path);  // "<final>.partial"

// Writes `final_path` whole: `write(partial)` creates the partial file (a stale one, left by a killed attempt, is
// removed first), then commit_file. With `private_partial` the partial is `<final>.partial.<pid>`, so two
// processes writing the same file (the same numbers) never share one. On failure the partial is removed
// (best effort: a full disk must not also keep the half file) and the error propagates.
void write_durably(const std::string& final_path, const std::function<void(const std::string& partial)>& write,
                   bool private_partial = false);

// fsync(partial), rename(partial, final), fsync(folder). IoError naming the file and the system's reason
// (e.g. "No space left on device") on failure.
void commit_file(const std::string& partial, const std::string& final_path);

// fsync of one file's contents (IoError on failure).
void sync_file(const std::string& path);

// A file of ours that is unreadable or incomplete: renamed to `<path>.damaged` (kept for inspection, never read
// again) with a warning saying why and that it is computed again.
void move_aside_damaged(const std::string& path, const std::string& why);

// Filesystem calls with errors as IoError naming the path (std::filesystem throws its own type otherwise).
void create_folders(const std::string& path);
void remove_tree(const std::string& path);

}  // namespace switchdiff::pipeline
