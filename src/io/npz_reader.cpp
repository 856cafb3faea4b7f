#include "io/npz_reader.h"

#include <ATen/ATen.h>
#include <zip.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

#include "core/error.h"
#include "io/checked_size.h"

namespace switchdiff::io {
namespace {

constexpr std::string_view kNpyMagic = "\x93NUMPY";
constexpr const char* kResave = "re-save it with numpy (np.save / np.savez)";

uint32_t little_endian(const std::string_view bytes, size_t offset, size_t width) {
  uint32_t value = 0;
  for (size_t i = 0; i < width; ++i) value |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[offset + i])) << (8 * i);
  return value;
}

// Value text of `key` in numpy's header dict, e.g. "'<f8'", "False", "(3, 4)".
std::string dict_value(const std::string& header, const std::string& key, const std::string& source) {
  const std::string quoted = "'" + key + "'";
  size_t position = header.find(quoted);
  if (position == std::string::npos) {
    throw make_error<InputError>("{}: .npy header has no '{}' entry (header: {}); {}", source, key, header, kResave);
  }
  position = header.find(':', position + quoted.size());
  if (position == std::string::npos) throw make_error<InputError>("{}: malformed .npy header: {}", source, header);
  ++position;
  while (position < header.size() && header[position] == ' ') ++position;
  size_t end = position;
  if (header[position] == '(') {
    end = header.find(')', position);
    if (end == std::string::npos) throw make_error<InputError>("{}: malformed .npy shape in {}", source, header);
    ++end;
  } else if (header[position] == '\'') {
    end = header.find('\'', position + 1);
    if (end == std::string::npos) throw make_error<InputError>("{}: malformed .npy descr in {}", source, header);
    ++end;
  } else if (header[position] == '[') {
    return "[";  // a structured dtype's field list
  } else {
    while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  }
  return header.substr(position, end - position);
}

// numpy writes shapes as "()", "(5,)" or "(2, 3)". Each extent is parsed by hand (std::stoll would throw a bare
// "stoll" for 20 digits) and must fit in int64; the product is checked against the data later.
std::vector<int64_t> parse_shape(const std::string& text, const std::string& source) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') {
    throw make_error<InputError>("{}: .npy shape {} is not a tuple of integers; {}", source, text, kResave);
  }
  std::vector<int64_t> shape;
  std::string inner = text.substr(1, text.size() - 2);
  std::replace(inner.begin(), inner.end(), ',', ' ');
  std::istringstream stream(inner);
  std::string token;
  while (stream >> token) {
    if (token.find_first_not_of("0123456789") != std::string::npos) {
      throw make_error<InputError>("{}: .npy shape {} is not a tuple of non-negative integers; {}", source, text,
                                   kResave);
    }
    int64_t extent = 0;
    for (const char digit : token) {
      const auto times_ten = checked_mul(extent, 10);
      if (!times_ten || *times_ten > std::numeric_limits<int64_t>::max() - (digit - '0')) {
        throw make_error<InputError>("{}: .npy shape {} has an extent beyond 2^63 - 1: a corrupt header; {}", source,
                                     text, kResave);
      }
      extent = *times_ten + (digit - '0');
    }
    shape.push_back(extent);
  }
  if (shape.size() > 32) {  // NPY_MAXDIMS
    throw make_error<InputError>("{}: .npy shape {} has {} dimensions, numpy allows at most 32; {}", source, text,
                                 shape.size(), kResave);
  }
  return shape;
}

// C-order copy of Fortran-order data: element (i_0, ..., i_k) sits at sum_j i_j * prod_{l<j} n_l in the file.
std::vector<uint8_t> fortran_to_c(const std::vector<uint8_t>& data, const std::vector<int64_t>& shape,
                                  size_t item_size) {
  const size_t dims = shape.size();
  std::vector<int64_t> f_stride(dims, 1);
  for (size_t j = 1; j < dims; ++j) f_stride[j] = f_stride[j - 1] * shape[j - 1];
  int64_t count = 1;
  for (int64_t extent : shape) count *= extent;
  std::vector<uint8_t> out(data.size());
  std::vector<int64_t> index(dims, 0);
  int64_t f_offset = 0;
  for (int64_t c = 0; c < count; ++c) {
    std::memcpy(&out[static_cast<size_t>(c) * item_size], &data[static_cast<size_t>(f_offset) * item_size], item_size);
    for (size_t j = dims; j-- > 0;) {  // odometer in C order (last index fastest)
      ++index[j];
      f_offset += f_stride[j];
      if (index[j] < shape[j]) break;
      f_offset -= f_stride[j] * shape[j];
      index[j] = 0;
    }
  }
  return out;
}

template <class Out>
std::vector<Out> convert(const NpyArray& a) {
  const int64_t n = a.num_elements();
  std::vector<Out> out(static_cast<size_t>(n));
  const uint8_t* p = a.data.data();
  for (int64_t i = 0; i < n; ++i, p += a.item_size) {
    Out value = 0;
#define SWITCHDIFF_NPY_CASE(kind_char, size, Type)  \
  if (a.kind == kind_char && a.item_size == size) { \
    Type v;                                         \
    std::memcpy(&v, p, size);                       \
    value = static_cast<Out>(v);                    \
  }
    SWITCHDIFF_NPY_CASE('f', 8, double)
    SWITCHDIFF_NPY_CASE('f', 4, float)
    SWITCHDIFF_NPY_CASE('i', 8, int64_t)
    SWITCHDIFF_NPY_CASE('i', 4, int32_t)
    SWITCHDIFF_NPY_CASE('i', 2, int16_t)
    SWITCHDIFF_NPY_CASE('i', 1, int8_t)
    SWITCHDIFF_NPY_CASE('u', 8, uint64_t)
    SWITCHDIFF_NPY_CASE('u', 4, uint32_t)
    SWITCHDIFF_NPY_CASE('u', 2, uint16_t)
    SWITCHDIFF_NPY_CASE('u', 1, uint8_t)
    SWITCHDIFF_NPY_CASE('b', 1, uint8_t)
#undef SWITCHDIFF_NPY_CASE
    out[static_cast<size_t>(i)] = value;
  }
  return out;
}

// The central directory's sizes are untrusted: a member cannot be larger than deflate can expand its compressed
// bytes (kMaxDecodedBytesPerFileByte, src/io/checked_size.h), and those must fit in the archive file. Checked
// before the member's buffer is allocated.
void check_member_size(const zip_stat_t& stat, const std::string& source, uintmax_t archive_bytes) {
  if (!(stat.valid & ZIP_STAT_COMP_SIZE)) return;
  const bool stored = (stat.valid & ZIP_STAT_COMP_METHOD) && stat.comp_method == ZIP_CM_STORE;
  const bool fits = stat.comp_size <= archive_bytes &&
                    stat.size <= stat.comp_size * static_cast<uint64_t>(kMaxDecodedBytesPerFileByte) + 1024 &&
                    !(stored && stat.size != stat.comp_size);
  if (!fits) {
    throw make_error<InputError>(
        "{}: the archive records {} bytes ({} compressed) for this member of a {}-byte file: a corrupt zip directory; "
        "{}",
        source, stat.size, stat.comp_size, archive_bytes, kResave);
  }
}

}  // namespace

int64_t NpyArray::num_elements() const {
  const std::optional<int64_t> n = checked_product(shape);
  if (!n) {
    throw make_error<InputError>("{}: shape {} has more than 2^63 elements: a corrupt header; {}", source, shape_text(),
                                 kResave);
  }
  return *n;
}

std::string NpyArray::dtype_name() const {
  if (kind == 'b') return "bool";
  return fmt::format("{}{}", kind == 'f' ? "float" : kind == 'i' ? "int" : "uint", 8 * item_size);
}

std::string NpyArray::shape_text() const {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

std::vector<double> NpyArray::to_float64() const { return convert<double>(*this); }

std::vector<int64_t> NpyArray::to_int64() const {
  if (kind == 'f') {
    throw make_error<InputError>("{}: expected integers, found {} {}; store it as an integer array", source,
                                 dtype_name(), shape_text());
  }
  if (kind == 'u' && item_size == 8) {
    for (const int64_t v : convert<int64_t>(*this)) {
      if (v < 0) throw make_error<InputError>("{}: uint64 value above 2^63-1 cannot be read as int64", source);
    }
  }
  return convert<int64_t>(*this);
}

const std::vector<uint8_t>& NpyArray::uint8_data() const {
  if (!((kind == 'u' || kind == 'b') && item_size == 1)) {
    throw make_error<InputError>(
        "{}: expected uint8 pixels, found {} {}; convert with .astype(np.uint8) if the "
        "values are 0..255",
        source, dtype_name(), shape_text());
  }
  return data;
}

at::Tensor NpyArray::to_tensor() const {
  at::ScalarType type = at::kDouble;
  if (kind == 'f' && item_size == 4) type = at::kFloat;
  if (kind == 'i') {
    type = item_size == 8 ? at::kLong : item_size == 4 ? at::kInt : item_size == 2 ? at::kShort : at::kChar;
  }
  if (kind == 'u') {
    if (item_size != 1) {
      throw make_error<InputError>("{}: {} has no torch dtype; store it as int64 or float64", source, dtype_name());
    }
    type = at::kByte;
  }
  if (kind == 'b') type = at::kBool;
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(type));
  if (!data.empty()) std::memcpy(t.data_ptr(), data.data(), data.size());
  return t;
}

NpyArray parse_npy(std::string_view bytes, const std::string& source) {
  if (bytes.size() < 10 || bytes.substr(0, kNpyMagic.size()) != kNpyMagic) {
    throw make_error<InputError>("{}: not a .npy array (no \\x93NUMPY magic; {} bytes); {}", source, bytes.size(),
                                 kResave);
  }
  const int major = static_cast<uint8_t>(bytes[6]);
  if (major < 1 || major > 3) {
    throw make_error<InputError>("{}: .npy format version {} is not supported (1, 2 or 3)", source, major);
  }
  const size_t length_bytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + length_bytes) throw make_error<InputError>("{}: .npy header is truncated", source);
  const size_t header_start = 8 + length_bytes;
  const size_t header_length = little_endian(bytes, 8, length_bytes);
  if (bytes.size() < header_start + header_length) {
    throw make_error<InputError>("{}: .npy header of {} bytes is truncated ({} bytes in the file); {}", source,
                                 header_length, bytes.size(), kResave);
  }
  const std::string header(bytes.substr(header_start, header_length));

  NpyArray array;
  array.source = source;
  const std::string descr = dict_value(header, "descr", source);
  if (descr == "[" || descr.size() < 4 || descr.front() != '\'') {
    throw make_error<InputError>("{}: structured dtype ({}) is not supported; save plain numeric arrays", source,
                                 header);
  }
  array.descr = descr.substr(1, descr.size() - 2);
  const char order = array.descr[0];
  array.kind = array.descr[1];
  const std::string size_text = array.descr.substr(2);
  const bool known_kind = array.kind == 'f' || array.kind == 'i' || array.kind == 'u' || array.kind == 'b';
  if (!known_kind || size_text.empty() || size_text.find_first_not_of("0123456789") != std::string::npos ||
      std::string("<>|=").find(order) == std::string::npos) {
    throw make_error<InputError>("{}: dtype '{}' is not supported (bool, integers, float32, float64){}", source,
                                 array.descr,
                                 array.kind == 'O' ? "; object arrays need pickle: save numeric arrays" : "");
  }
  array.item_size = size_text.size() <= 2 ? std::stoul(size_text) : 0;  // > 99 bytes: rejected just below
  const bool valid_size = array.kind == 'f'   ? (array.item_size == 4 || array.item_size == 8)
                          : array.kind == 'b' ? array.item_size == 1
                                              : (array.item_size == 1 || array.item_size == 2 || array.item_size == 4 ||
                                                 array.item_size == 8);
  if (!valid_size) {
    throw make_error<InputError>(
        "{}: dtype '{}' is not supported (bool, int8..int64, uint8..uint64, float32, "
        "float64); convert with .astype(np.float64)",
        source, array.descr);
  }
  const std::string fortran = dict_value(header, "fortran_order", source);
  if (fortran != "True" && fortran != "False") {
    throw make_error<InputError>("{}: .npy fortran_order is {:?}, expected True or False", source, fortran);
  }
  array.fortran_order_in_file = fortran == "True";
  array.shape = parse_shape(dict_value(header, "shape", source), source);

  // Element count and byte count are checked products (no wrap-around to a small or zero size), and must equal
  // the bytes present: the file's length bounds every allocation.
  const std::optional<int64_t> expected_bytes =
      checked_mul(array.num_elements(), static_cast<int64_t>(array.item_size));
  const size_t available = bytes.size() - header_start - header_length;
  if (!expected_bytes || static_cast<uint64_t>(*expected_bytes) != available) {
    throw make_error<InputError>("{}: {} {} needs {} data bytes, the file has {} ({}); {}", source, array.dtype_name(),
                                 array.shape_text(), expected_bytes ? std::to_string(*expected_bytes) : "over 2^63",
                                 available,
                                 !expected_bytes                                      ? "a corrupt header"
                                 : available < static_cast<uint64_t>(*expected_bytes) ? "truncated"
                                                                                      : "extra bytes after the array",
                                 kResave);
  }
  const auto expected = static_cast<size_t>(*expected_bytes);
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data() + header_start + header_length);
  array.data.assign(data, data + expected);
  // numpy writes '<' or '|' on little-endian machines; swap '>' data (and '=' is native already).
  if (order == '>' && array.item_size > 1) {
    for (size_t i = 0; i < array.data.size(); i += array.item_size) {
      std::reverse(array.data.begin() + static_cast<std::ptrdiff_t>(i),
                   array.data.begin() + static_cast<std::ptrdiff_t>(i + array.item_size));
    }
  }
  if (array.fortran_order_in_file && array.shape.size() > 1) {
    array.data = fortran_to_c(array.data, array.shape, array.item_size);
  }
  return array;
}

NpyArray read_npy_file(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) throw make_error<InputError>("{}: cannot open (no such file or no permission)", path);
  std::ostringstream content;
  content << stream.rdbuf();
  return parse_npy(content.str(), path);
}

struct NpzArchive::Zip {
  zip_t* archive = nullptr;
  ~Zip() {
    if (archive) zip_discard(archive);  // read-only: nothing to write back
  }
};

NpzArchive::NpzArchive(const std::string& path) : path_(path), zip_(std::make_unique<Zip>()) {
  if (!std::filesystem::exists(path)) throw make_error<InputError>("{}: no such file", path);
  int code = 0;
  zip_->archive = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (!zip_->archive) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    const std::string text = zip_error_strerror(&error);
    zip_error_fini(&error);
    throw make_error<InputError>("{}: not a readable .npz (zip) archive: {}; truncated or corrupt? {}", path, text,
                                 kResave);
  }
}

NpzArchive::~NpzArchive() = default;

std::vector<std::string> NpzArchive::keys() const {
  std::vector<std::string> keys;
  const zip_int64_t count = zip_get_num_entries(zip_->archive, 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    const char* name = zip_get_name(zip_->archive, static_cast<zip_uint64_t>(i), ZIP_FL_ENC_GUESS);
    if (!name) continue;
    std::string key = name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    keys.push_back(key);
  }
  return keys;
}

bool NpzArchive::contains(const std::string& key) const {
  return zip_name_locate(zip_->archive, (key + ".npy").c_str(), 0) >= 0;
}

NpyArray NpzArchive::read(const std::string& key) const {
  const std::string source = path_ + ":" + key;
  const zip_int64_t index = zip_name_locate(zip_->archive, (key + ".npy").c_str(), 0);
  if (index < 0) {
    std::string present;
    for (const std::string& k : keys()) present += (present.empty() ? "" : ", ") + k;
    throw make_error<InputError>("{}: no array '{}' in the archive; it holds: {}", path_, key,
                                 present.empty() ? "nothing" : present);
  }
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat_index(zip_->archive, static_cast<zip_uint64_t>(index), 0, &stat) != 0 || !(stat.valid & ZIP_STAT_SIZE)) {
    throw make_error<InputError>("{}: cannot read the member's size: {}", source, zip_strerror(zip_->archive));
  }
  check_member_size(stat, source, std::filesystem::file_size(path_));
  zip_file_t* member = zip_fopen_index(zip_->archive, static_cast<zip_uint64_t>(index), 0);
  if (!member) throw make_error<InputError>("{}: cannot open the member: {}", source, zip_strerror(zip_->archive));
  std::string bytes(static_cast<size_t>(stat.size), '\0');
  zip_uint64_t done = 0;
  std::string failure;
  while (done < stat.size) {
    const zip_int64_t n = zip_fread(member, bytes.data() + done, stat.size - done);
    if (n < 0) {
      failure = zip_file_strerror(member);
      break;
    }
    if (n == 0) {
      failure = fmt::format("member ends after {} of {} bytes", done, stat.size);
      break;
    }
    done += static_cast<zip_uint64_t>(n);
  }
  if (failure.empty()) {
    // libzip validates the CRC-32 only when a read reaches the end of the member: ask for one more byte.
    char extra = 0;
    const zip_int64_t n = zip_fread(member, &extra, 1);
    if (n < 0) failure = zip_file_strerror(member);
    if (n > 0) failure = fmt::format("member is longer than its recorded size of {} bytes", stat.size);
  }
  // zip_fclose reports a CRC mismatch of the whole member once it has been read.
  const int close_code = zip_fclose(member);
  if (failure.empty() && close_code != 0) {
    zip_error_t error;
    zip_error_init_with_code(&error, close_code);
    failure = zip_error_strerror(&error);
    zip_error_fini(&error);
  }
  if (!failure.empty()) {
    throw make_error<InputError>("{}: corrupt or truncated member ({}); {}", source, failure, kResave);
  }
  return parse_npy(bytes, source);
}

}  // namespace switchdiff::io
