#include "io/raw_file.h"

#include <zlib.h>

#include <algorithm>
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

std::string read_plain(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) throw make_error<InputError>("{}: cannot open for reading (permissions?)", path);
  std::ostringstream content;
  content << stream.rdbuf();
  if (!stream && !stream.eof()) throw make_error<InputError>("{}: read error", path);
  return content.str();
}

bool gzip_magic_at(const std::string& bytes, size_t offset) {
  return bytes.size() >= offset + 2 && static_cast<uint8_t>(bytes[offset]) == 0x1f &&
         static_cast<uint8_t>(bytes[offset + 1]) == 0x8b;
}

// Whole-file inflate instead of gzread: zlib's gzread silently drops whatever follows the last gzip member,
// so a file with garbage appended (or two files glued together wrongly) would read as valid.
// Multi-member gzip is legal (RFC 1952 section 2.2: a file is a series of members; `cat a.gz b.gz` decompresses
// to a then b, as gzip -d does), so each further member starting with the 1f 8b magic is decoded and appended;
// any other byte after a member's end is an InputError, and so is a stream that stops inside a member.
std::string read_gzip(const std::string& path) {
  const std::string compressed = read_plain(path);
  z_stream stream{};
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) {  // 16: gzip wrapper only
    throw make_error<IoError>("{}: zlib inflateInit2 failed", path);
  }
  std::string content;
  std::string chunk(1 << 20, '\0');
  size_t fed = 0;  // bytes of `compressed` handed to zlib so far (in pieces: avail_in is 32-bit)
  const auto feed = [&] {
    if (stream.avail_in != 0 || fed == compressed.size()) return;
    const size_t piece = std::min<size_t>(compressed.size() - fed, size_t{1} << 30);
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data() + fed));
    stream.avail_in = static_cast<uInt>(piece);
    fed += piece;
  };
  const auto unread = [&] { return compressed.size() - fed + stream.avail_in; };
  std::string failure;
  while (true) {
    feed();
    stream.next_out = reinterpret_cast<Bytef*>(chunk.data());
    stream.avail_out = static_cast<uInt>(chunk.size());
    const int code = inflate(&stream, Z_NO_FLUSH);
    content.append(chunk.data(), chunk.size() - stream.avail_out);
    if (code == Z_STREAM_END) {
      const size_t offset = compressed.size() - unread();
      if (unread() == 0) break;
      if (!gzip_magic_at(compressed, offset)) {
        failure = fmt::format(
            "{} bytes after the end of the gzip stream (at byte {}) that are not another gzip member; the file was "
            "damaged or appended to: re-download or re-compress it",
            unread(), offset);
        break;
      }
      inflateReset(&stream);
      continue;
    }
    if (code == Z_BUF_ERROR && unread() == 0) {
      failure = fmt::format("truncated gzip file (the stream ends early, after {} decompressed bytes); re-download it",
                            content.size());
      break;
    }
    if (code != Z_OK && code != Z_BUF_ERROR) {
      failure = fmt::format(
          "corrupt or truncated gzip data ({}) after {} decompressed bytes; re-download or re-compress the file",
          stream.msg ? stream.msg : zError(code), content.size());
      break;
    }
  }
  inflateEnd(&stream);
  if (!failure.empty()) throw make_error<InputError>("{}: {}", path, failure);
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
  file.bytes = read_plain(path);
  return file;
}

}  // namespace switchdiff::io
