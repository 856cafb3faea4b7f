#pragma once
// IDX files (the MNIST / Fashion-MNIST format, LeCun et al.; http://yann.lecun.com/exdb/mnist/): a 4-byte
// magic 00 00 <type> <dims>, then <dims> big-endian uint32 extents, then the data in row-major order.
// Only unsigned-byte data (type 0x08) is read: 0x00000803 holds images [N, rows, cols], 0x00000801 labels [N].
// Plain or gzip (detected by content).
#include <cstdint>
#include <string>
#include <vector>

namespace switchdiff::io {

struct IdxArray {
  std::vector<int64_t> dims;  // [N, rows, cols] or [N]
  std::vector<uint8_t> data;  // row-major
  bool gzipped = false;
};

// True when the bytes start like an IDX file (00 00 then a type byte and 1..4 dimensions).
bool looks_like_idx(const std::string& bytes);

// Parses an IDX file's bytes; `path` names it in errors. expected_dims: 3 for images, 1 for labels; a
// mismatch says which kind of file was found and where it belongs (--input / --labels).
IdxArray parse_idx(const std::string& bytes, const std::string& path, int expected_dims);
IdxArray read_idx_file(const std::string& path, int expected_dims);

}  // namespace switchdiff::io
