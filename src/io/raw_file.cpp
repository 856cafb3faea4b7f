#include "io/raw_file.h"

#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace switchdiff::io {
namespace {

void require_readable_file(const std::string& path) {
  if (!std::filesystem::exists(path)) throw make_error<InputError>("{}: no such file", path);
  if (std::filesystem::is_directory(path)) throw make_error<InputError>("{}: is a folder, expected a file", path);
}

std::string read_gzip(const std::string& path) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz) throw make_error<InputError>("{}: cannot open for reading", path);
  gzbuffer(gz, 1 << 20);
  std::string content;
  std::string chunk(1 << 20, '\0');
  while (true) {
    const int n = gzread(gz, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) break;  // reported below through gzerror
    content.append(chunk.data(), static_cast<size_t>(n));
    if (n == 0 || gzeof(gz)) break;
  }
  int code = Z_OK;
  const char* message = gzerror(gz, &code);
  const std::string text = message ? message : "";
  // gzclose_r reports Z_BUF_ERROR when the stream stopped in the middle of a gzip member (truncated file).
  const int close_code = gzclose_r(gz);
  if (code != Z_OK && code != Z_STREAM_END) {
    throw make_error<InputError>(
        "{}: corrupt or truncated gzip data ({}) after {} decompressed bytes; "
        "re-download or re-compress the file",
        path, text, content.size());
  }
  if (close_code == Z_BUF_ERROR) {
    throw make_error<InputError>(
        "{}: truncated gzip file (the stream ends early, after {} decompressed bytes); "
        "re-download it",
        path, content.size());
  }
  return content;
}

}  // namespace

std::string read_file_prefix(const std::string& path, size_t n) {
  require_readable_file(path);
  std::ifstream stream(path, std::ios::binary);
  if (!stream) throw make_error<InputError>("{}: cannot open for reading (permissions?)", path);
  std::string prefix(n, '\0');
  stream.read(prefix.data(), static_cast<std::streamsize>(n));
  prefix.resize(static_cast<size_t>(stream.gcount()));
  return prefix;
}

RawFile read_raw_file(const std::string& path) {
  const std::string magic = read_file_prefix(path, 2);
  RawFile file;
  if (magic.size() == 2 && static_cast<uint8_t>(magic[0]) == 0x1f && static_cast<uint8_t>(magic[1]) == 0x8b) {
    file.gzipped = true;
    file.bytes = read_gzip(path);
    return file;
  }
  std::ifstream stream(path, std::ios::binary);
  std::ostringstream content;
  content << stream.rdbuf();
  if (!stream && !stream.eof()) throw make_error<InputError>("{}: read error", path);
  file.bytes = content.str();
  return file;
}

}  // namespace switchdiff::io
