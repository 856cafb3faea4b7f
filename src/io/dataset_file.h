#pragma once
// The canonical dataset file (docs/formats.md): HDF5 with /images uint8 [N, C, H, W] (pixels 0..255) and optional
// /labels int64 [N]. Samples files (docs/cli.md) hold /images too and read the same way. Root string attributes
// describe the source (written by `switchdiff prepare`).
//
// Reading never loads the whole file: DatasetReader reads a row range [begin, end). Every problem with a
// user's file is an InputError that names the file, what was found, what is expected and how to fix it.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "io/h5_file.h"

namespace switchdiff::io {

struct ImageShape {
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t pixels() const { return channels * height * width; }  // bytes per image
  std::string text() const;                                     // "1x28x28"
  bool operator==(const ImageShape& other) const {
    return channels == other.channels && height == other.height && width == other.width;
  }
};

// A whole dataset in memory, as `switchdiff prepare` builds it.
struct DatasetArrays {
  int64_t num_images = 0;
  ImageShape image;
  std::vector<uint8_t> images;                    // num_images * image.pixels() bytes, NCHW
  std::optional<std::vector<int64_t>> labels;     // num_images entries when present
  std::map<std::string, std::string> attributes;  // root string attributes (source_format, source_files, ...)
};

struct DatasetFileInfo {
  std::string path;
  int64_t num_images = 0;
  ImageShape image;
  bool has_labels = false;
};

// Writes /images (chunked, gzip level 1), /labels when present, and the attributes plus "layout". Written to
// "<path>.partial" and renamed at the end, so an interrupted run never leaves a valid-looking file. An existing
// path is a ConfigError unless overwrite. Inconsistent arrays (sizes, label count) throw InputError.
void write_dataset_file(const std::string& path, const DatasetArrays& arrays, bool overwrite = false);

// Shape and label presence; InputError for a missing /images, a non-uint8 dtype (named), a rank other than 4,
// or /labels of another length or a non-integer type.
DatasetFileInfo read_dataset_info(const std::string& path);

// Whole file (tests, small data).
DatasetArrays read_dataset_file(const std::string& path);

// Keeps the file open for repeated range reads (one per batch). Not thread-safe (HDF5 serial build).
class DatasetReader {
 public:
  explicit DatasetReader(const std::string& path);
  const DatasetFileInfo& info() const { return info_; }
  int64_t size() const { return info_.num_images; }
  // Images [begin, end): (end - begin) * pixels bytes, NCHW. 0 <= begin <= end <= size(), else InputError.
  std::vector<uint8_t> read_images(int64_t begin, int64_t end) const;
  // The same as a uint8 CPU tensor [end - begin, C, H, W].
  at::Tensor read_images_tensor(int64_t begin, int64_t end) const;
  // Labels [begin, end); InputError when the file has none.
  std::vector<int64_t> read_labels(int64_t begin, int64_t end) const;
  // Root string attributes (numbers are formatted), e.g. source_format, imagenet_version.
  std::map<std::string, std::string> attributes() const;

 private:
  void check_range(int64_t begin, int64_t end) const;
  H5File file_;
  DatasetFileInfo info_;
};

}  // namespace switchdiff::io
