#include "pipeline/block_record.h"

#include <fmt/format.h>

#include <cstring>

#include "core/error.h"
#include "core/file_hash.h"
#include "io/h5_file.h"
#include "pipeline/durable_file.h"

namespace switchdiff::pipeline {
namespace {

constexpr const char* kHashAttribute = "data_sha256";
constexpr const char* kCompleteAttribute = "complete";

template <class T>
void append_values(const io::H5File& record, const std::string& path, std::string& bytes) {
  const std::vector<T> values = record.read<T>(path);
  const size_t at = bytes.size();
  bytes.resize(at + values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(bytes.data() + at, values.data(), values.size() * sizeof(T));
}

void append_datasets(const io::H5File& record, const std::string& group, std::string& bytes) {
  for (const std::string& name : record.children(group)) {
    const std::string path = group == "/" ? "/" + name : group + "/" + name;
    if (record.is_group(path)) {
      append_datasets(record, path, bytes);
      continue;
    }
    const io::DatasetInfo info = record.dataset_info(path);
    bytes += fmt::format("{}|{}|{}\n", path, info.type_name, fmt::join(info.shape, ","));
    switch (info.type) {
      case io::ElementType::kUInt8:
        append_values<uint8_t>(record, path, bytes);
        break;
      case io::ElementType::kInt32:
        append_values<int32_t>(record, path, bytes);
        break;
      case io::ElementType::kInt64:
        append_values<int64_t>(record, path, bytes);
        break;
      case io::ElementType::kFloat32:
        append_values<float>(record, path, bytes);
        break;
      case io::ElementType::kFloat64:
        append_values<double>(record, path, bytes);
        break;
      case io::ElementType::kOther:
        throw make_error<IoError>("{}: {} is of type {}, which a block record never holds", record.path(), path,
                                  info.type_name);
    }
  }
}

}  // namespace

std::string record_data_hash(const io::H5File& record) {
  std::string bytes;
  append_datasets(record, "/", bytes);
  return core::sha256_bytes(bytes);
}

void write_block_record(const std::string& path, const dist::Block& block, const std::function<void(io::H5File&)>& fill,
                        bool private_partial) {
  write_durably(
      path,
      [&](const std::string& partial) {
        io::H5File record = io::H5File::create(partial, /*overwrite=*/true);
        record.set_int_attribute("/", "begin", block.begin);
        record.set_int_attribute("/", "end", block.end);
        fill(record);
        const std::string hash = record_data_hash(record);
        record.set_string_attribute("/", kHashAttribute, hash);
        record.set_int_attribute("/", kCompleteAttribute, 1);  // last: a record without it is never trusted
        record.close();
        if (record_data_hash(io::H5File::open(partial, false)) != hash) {
          throw make_error<IoError>(
              "{}: the data read back differ from what was written (is the disk full?); free space and run the "
              "same command again to resume",
              partial);
        }
      },
      private_partial);
}

std::string block_record_problem(const std::string& path, const dist::Block& block,
                                 const std::function<std::string(const io::H5File&)>& check) {
  try {
    const io::H5File record = io::H5File::open_input(path);
    if (!record.has_attribute("/", kCompleteAttribute) || record.int_attribute("/", kCompleteAttribute) != 1)
      return "incomplete";
    if (!record.has_attribute("/", "begin") || !record.has_attribute("/", "end") ||
        record.int_attribute("/", "begin") != block.begin || record.int_attribute("/", "end") != block.end) {
      return "holds another block";
    }
    if (!record.has_attribute("/", kHashAttribute)) return "no checksum";
    if (record_data_hash(record) != record.string_attribute("/", kHashAttribute))
      return "its data do not match their checksum";
    return check ? check(record) : "";
  } catch (const Error& e) {
    return e.what();
  }
}

}  // namespace switchdiff::pipeline
