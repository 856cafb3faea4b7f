#pragma once
// Checks an output path before any work is done, so a typo costs seconds, not a finished run.
#include <string>

namespace switchdiff::pipeline {

// Creates missing parent folders and checks that a file can be created there; ConfigError (exit 1)
// naming the path and the fix otherwise. Does not create or touch the file itself.
void ensure_writable_output(const std::string& path);

// The one rule for finished results: an existing output is never overwritten. ConfigError (exit 1) naming the
// path and the fix when `path` exists.
void refuse_existing_output(const std::string& path);

}  // namespace switchdiff::pipeline
