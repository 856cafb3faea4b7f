#pragma once
// Whole-file reads for the dataset importers: plain bytes, or the decompressed content of a gzip file
// (detected by its 1f 8b magic, not by the name).
#include <string>

namespace switchdiff::io {

struct RawFile {
  std::string bytes;     // decompressed content
  bool gzipped = false;  // the file on disk was gzip
};

// InputError naming the file when it is missing, unreadable, or a truncated/corrupt gzip stream. Concatenated
// gzip members are decoded one after another (legal gzip); any other bytes after the last member are an error.
RawFile read_raw_file(const std::string& path);

// The first n bytes of a file (fewer if shorter), for format detection without reading it all.
std::string read_file_prefix(const std::string& path, size_t n);

}  // namespace switchdiff::io
