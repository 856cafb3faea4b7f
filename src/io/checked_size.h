#pragma once
// Overflow-checked arithmetic for sizes read from file headers (IDX extents, .npy shapes, HDF5 dims). A header
// field is untrusted: its product must be computed without signed overflow (undefined behaviour) and compared
// with what the file can hold before anything is allocated. std::nullopt means "does not fit in int64".
#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace switchdiff::io {

inline std::optional<int64_t> checked_mul(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) return std::nullopt;
  return out;
}

// Product of non-negative extents (1 for an empty list); nullopt on overflow or a negative extent.
inline std::optional<int64_t> checked_product(const std::vector<int64_t>& extents) {
  int64_t n = 1;
  for (const int64_t e : extents) {
    if (e < 0) return std::nullopt;
    const auto next = checked_mul(n, e);
    if (!next) return std::nullopt;
    n = *next;
  }
  return n;
}

// deflate (zlib, used by gzip, zip and HDF5's gzip filter) expands at most ~1032:1 (zlib's technical details), so
// no well-formed file decodes to more than this many bytes per byte stored. A header or dataspace declaring more
// describes data the file cannot hold (e.g. an HDF5 dataset whose chunks were never written).
constexpr int64_t kMaxDecodedBytesPerFileByte = 1032;

// True when `bytes` of decoded data can come from a file of `file_bytes` bytes.
inline bool fits_in_file(int64_t bytes, uintmax_t file_bytes) {
  const auto limit =
      checked_mul(static_cast<int64_t>(std::min<uintmax_t>(file_bytes, INT64_MAX / 2048)), kMaxDecodedBytesPerFileByte);
  return bytes >= 0 && limit && bytes <= *limit + 4096;
}

}  // namespace switchdiff::io
