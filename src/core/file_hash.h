#pragma once
// SHA-256 (FIPS 180-4) of a file or a byte string, as 64 lowercase hex digits. Used to record which
// feature extractor / expert produced a result (docs/metrics.md: reference statistics name the extractor and
// its SHA-256), so a mismatch is caught before two statistics are compared.
#include <string>
#include <string_view>

namespace switchdiff::core {

// Hash of the whole file, read in 1 MiB blocks. Throws InputError naming the file when it cannot be read.
std::string sha256_file(const std::string& path);

// Hash of an in-memory byte string (tests, small payloads).
std::string sha256_bytes(std::string_view bytes);

}  // namespace switchdiff::core
