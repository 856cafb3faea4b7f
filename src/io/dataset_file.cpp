#include "io/dataset_file.h"

#include <ATen/ATen.h>

#include <filesystem>

#include "core/error.h"
#include "io/checked_size.h"

namespace switchdiff::io {
namespace {

constexpr const char* kImages = "/images";
constexpr const char* kLabels = "/labels";
constexpr const char* kFix =
    "a dataset file holds /images uint8 [N, C, H, W] and optional /labels [N] (docs/formats.md); "
    "create one with `switchdiff prepare --input FILE`";

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

DatasetFileInfo inspect(const H5File& file) {
  const std::string& path = file.path();
  if (!file.is_dataset(kImages)) throw make_error<InputError>("{}: no /images dataset; {}", path, kFix);
  const DatasetInfo images = file.dataset_info(kImages);
  if (images.type != ElementType::kUInt8) {
    throw make_error<InputError>("{}: /images is {}, expected uint8 pixels 0..255; {}", path, images.type_name, kFix);
  }
  if (images.shape.size() != 4) {
    throw make_error<InputError>("{}: /images has shape {} ({} dimensions), expected 4: [N, C, H, W]{}; {}", path,
                                 shape_text(images.shape), images.shape.size(),
                                 images.shape.size() == 3 ? " (grayscale needs a channel axis of 1)" : "", kFix);
  }
  // Every consumer (stats, nll, fid) needs images to work on: an empty set is a broken or wrong file, not a
  // result. The product N*C*H*W is checked so that later row arithmetic (rows * pixels) cannot overflow.
  if (images.shape[0] < 1) {
    throw make_error<InputError>("{}: /images has shape {}: no images; {}", path, shape_text(images.shape), kFix);
  }
  const std::optional<int64_t> bytes = checked_product(images.shape);
  if (images.shape[1] < 1 || images.shape[2] < 1 || images.shape[3] < 1 || !bytes) {
    throw make_error<InputError>("{}: /images has shape {}: empty or impossibly large images; {}", path,
                                 shape_text(images.shape), kFix);
  }
  // HDF5 allows a dataset far larger than its file (unwritten chunks read as fill values): such a file holds no
  // real images, and stats/nll would run over a huge range of zeros.
  const uintmax_t file_bytes = std::filesystem::file_size(path);
  if (!fits_in_file(*bytes, file_bytes)) {
    throw make_error<InputError>(
        "{}: /images declares {} = {} bytes of pixels, more than a {}-byte file can hold even compressed: its "
        "data were never written or the file is damaged; {}",
        path, shape_text(images.shape), *bytes, file_bytes, kFix);
  }
  DatasetFileInfo info;
  info.path = path;
  info.num_images = images.shape[0];
  info.image = ImageShape{images.shape[1], images.shape[2], images.shape[3]};
  if (file.exists(kLabels)) {
    const DatasetInfo labels = file.is_dataset(kLabels) ? file.dataset_info(kLabels) : DatasetInfo{};
    const bool integer = labels.type_name.find("int") != std::string::npos;
    if (!integer || labels.shape.size() != 1 || labels.shape[0] != info.num_images) {
      throw make_error<InputError>("{}: /labels is {} {}, expected integers [{}] (one per image); {}", path,
                                   labels.type_name.empty() ? "not a dataset" : labels.type_name,
                                   shape_text(labels.shape), info.num_images, kFix);
    }
    info.has_labels = true;
  }
  return info;
}

}  // namespace

std::string ImageShape::text() const { return fmt::format("{}x{}x{}", channels, height, width); }

void write_dataset_file(const std::string& path, const DatasetArrays& arrays, bool overwrite) {
  const ImageShape& shape = arrays.image;
  if (arrays.num_images < 1 || shape.channels <= 0 || shape.height <= 0 || shape.width <= 0) {
    throw make_error<InputError>("{}: cannot write {} images of shape {}; a dataset needs at least one image", path,
                                 arrays.num_images, shape.text());
  }
  if (static_cast<int64_t>(arrays.images.size()) != arrays.num_images * shape.pixels()) {
    throw make_error<InputError>("{}: {} images of {} need {} pixel bytes, got {}", path, arrays.num_images,
                                 shape.text(), arrays.num_images * shape.pixels(), arrays.images.size());
  }
  if (arrays.labels && static_cast<int64_t>(arrays.labels->size()) != arrays.num_images) {
    throw make_error<InputError>("{}: {} labels for {} images; give one label per image", path, arrays.labels->size(),
                                 arrays.num_images);
  }
  if (!overwrite && std::filesystem::exists(path)) {
    throw make_error<ConfigError>(
        "{} already exists; refusing to overwrite it (choose another output path or "
        "delete the file)",
        path);
  }
  const std::string partial = path + ".partial";
  {
    H5File file = H5File::create(partial, /*overwrite=*/true);  // a stale .partial is ours to replace
    DatasetOptions options;
    options.compression_level = 1;  // MNIST-like data shrinks ~3x; decoding stays far faster than any model
    file.write<uint8_t>(kImages, {arrays.num_images, shape.channels, shape.height, shape.width}, arrays.images.data(),
                        options);
    if (arrays.labels) file.write<int64_t>(kLabels, *arrays.labels);
    file.set_string_attribute("/", "layout", "images uint8 [N, C, H, W]; labels int64 [N]");
    for (const auto& [name, value] : arrays.attributes) file.set_string_attribute("/", name, value);
    file.close();
  }
  std::error_code error;
  std::filesystem::rename(partial, path, error);
  if (error) throw make_error<IoError>("{}: cannot rename {} to it: {}", path, partial, error.message());
}

DatasetFileInfo read_dataset_info(const std::string& path) { return inspect(H5File::open_input(path)); }

DatasetArrays read_dataset_file(const std::string& path) {
  const DatasetReader reader(path);
  DatasetArrays arrays;
  arrays.num_images = reader.size();
  arrays.image = reader.info().image;
  arrays.images = reader.read_images(0, reader.size());
  if (reader.info().has_labels) arrays.labels = reader.read_labels(0, reader.size());
  arrays.attributes = reader.attributes();
  return arrays;
}

DatasetReader::DatasetReader(const std::string& path) : file_(H5File::open_input(path)), info_(inspect(file_)) {}

void DatasetReader::check_range(int64_t begin, int64_t end) const {
  if (begin < 0 || begin > end || end > info_.num_images) {
    throw make_error<InputError>("{}: images [{}, {}) requested, the file has {} (indices 0..{})", info_.path, begin,
                                 end, info_.num_images, info_.num_images - 1);
  }
}

std::vector<uint8_t> DatasetReader::read_images(int64_t begin, int64_t end) const {
  check_range(begin, end);
  std::vector<uint8_t> pixels(static_cast<size_t>((end - begin) * info_.image.pixels()));
  file_.read_rows<uint8_t>(kImages, begin, end, pixels.data());
  return pixels;
}

at::Tensor DatasetReader::read_images_tensor(int64_t begin, int64_t end) const {
  check_range(begin, end);
  at::Tensor images = at::empty({end - begin, info_.image.channels, info_.image.height, info_.image.width}, at::kByte);
  file_.read_rows<uint8_t>(kImages, begin, end, images.data_ptr<uint8_t>());
  return images;
}

std::vector<int64_t> DatasetReader::read_labels(int64_t begin, int64_t end) const {
  if (!info_.has_labels) {
    throw make_error<InputError>("{}: has no /labels; prepare it with --labels (IDX) or from a source with labels",
                                 info_.path);
  }
  check_range(begin, end);
  std::vector<int64_t> labels(static_cast<size_t>(end - begin));
  file_.read_rows<int64_t>(kLabels, begin, end, labels.data());
  return labels;
}

std::map<std::string, std::string> DatasetReader::attributes() const {
  std::map<std::string, std::string> attributes;
  for (const std::string& name : file_.attribute_names("/")) {
    try {
      attributes[name] = file_.string_attribute("/", name);
    } catch (const InputError&) {
      attributes[name] = fmt::format("{}", file_.double_attribute("/", name));  // numbers, e.g. written by h5py
    }
  }
  return attributes;
}

}  // namespace switchdiff::io
