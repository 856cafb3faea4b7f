#include "io/idx_file.h"

#include "core/error.h"
#include "io/checked_size.h"
#include "io/raw_file.h"

namespace switchdiff::io {
namespace {

constexpr uint8_t kUnsignedByte = 0x08;

uint32_t big_endian_u32(const std::string& bytes, size_t offset) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<uint8_t>(bytes[offset + i]);
  return value;
}

const char* idx_type_name(uint8_t type) {
  switch (type) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return "unknown";
  }
}

const char* role_of(int dims) { return dims == 3 ? "images (magic 0x00000803)" : "labels (magic 0x00000801)"; }

}  // namespace

bool looks_like_idx(const std::string& bytes) {
  return bytes.size() >= 4 && bytes[0] == 0 && bytes[1] == 0 && static_cast<uint8_t>(bytes[2]) >= 0x08 &&
         static_cast<uint8_t>(bytes[2]) <= 0x0E && bytes[3] >= 1 && bytes[3] <= 4;
}

IdxArray parse_idx(const std::string& bytes, const std::string& path, int expected_dims) {
  const std::string want = fmt::format("expected IDX {}", role_of(expected_dims));
  if (bytes.size() < 4) {
    throw make_error<InputError>("{}: {} bytes is too short for an IDX file; {}", path, bytes.size(), want);
  }
  const uint32_t magic = big_endian_u32(bytes, 0);
  if (!looks_like_idx(bytes)) {
    throw make_error<InputError>(
        "{}: wrong magic number 0x{:08X}; {} (is this the right file, and decompressed or "
        "gzip as downloaded?)",
        path, magic, want);
  }
  const auto type = static_cast<uint8_t>(bytes[2]);
  const int dims = bytes[3];
  if (type != kUnsignedByte) {
    throw make_error<InputError>("{}: IDX element type 0x{:02X} ({}) is not supported; {} with unsigned bytes (0x08)",
                                 path, type, idx_type_name(type), want);
  }
  if (dims != expected_dims) {
    const std::string found = dims == 3   ? "an IDX images file (magic 0x00000803); pass it with --input"
                              : dims == 1 ? "an IDX labels file (magic 0x00000801); pass it with --labels"
                                          : fmt::format("an IDX file with {} dimensions (magic 0x{:08X})", dims, magic);
    throw make_error<InputError>("{}: this is {}; {}", path, found, want);
  }
  const size_t header = 4 + 4 * static_cast<size_t>(dims);
  if (bytes.size() < header) {
    throw make_error<InputError>("{}: truncated IDX header ({} of {} bytes); re-download the file", path, bytes.size(),
                                 header);
  }
  IdxArray array;
  std::string extents;
  for (int d = 0; d < dims; ++d) {
    array.dims.push_back(big_endian_u32(bytes, 4 + 4 * static_cast<size_t>(d)));
    extents += (d ? "x" : "") + std::to_string(array.dims.back());
  }
  // Extents are untrusted uint32s: up to 4 of them overflow int64, so multiply with checks and compare
  // with the bytes actually present before anything is allocated (src/io/checked_size.h).
  const size_t available = bytes.size() - header;
  const std::optional<int64_t> count = checked_product(array.dims);
  if (!count || static_cast<uint64_t>(*count) != available) {
    throw make_error<InputError>(
        "{}: the IDX header declares {} = {} bytes of data after {} header bytes, the file "
        "has {} ({}); re-download or re-extract it",
        path, extents, count ? std::to_string(*count) : "more than 2^63", header, available,
        !count                                      ? "a corrupt header"
        : available < static_cast<uint64_t>(*count) ? "truncated"
                                                    : "extra bytes at the end");
  }
  if (*count == 0) {
    throw make_error<InputError>("{}: the IDX header declares {}: no {}; a dataset needs at least one image", path,
                                 extents, expected_dims == 3 ? "pixels" : "labels");
  }
  array.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return array;
}

IdxArray read_idx_file(const std::string& path, int expected_dims) {
  RawFile raw = read_raw_file(path);
  IdxArray array = parse_idx(raw.bytes, path, expected_dims);
  array.gzipped = raw.gzipped;
  return array;
}

}  // namespace switchdiff::io
