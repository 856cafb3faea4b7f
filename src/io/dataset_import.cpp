#include "io/dataset_import.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "io/idx_file.h"
#include "io/npz_reader.h"
#include "io/raw_file.h"

namespace switchdiff::io {
namespace {

constexpr int64_t kCifarRecord = 1 + 3 * 32 * 32;
constexpr const char* kFormats =
    "IDX images (plain or .gz), CIFAR-10 binary batches (N x 3073 bytes) or "
    "downsampled-ImageNet .npz";

bool starts_with(const std::string& bytes, std::string_view prefix) {
  return bytes.size() >= prefix.size() && bytes.compare(0, prefix.size(), prefix) == 0;
}
bool is_tar(const std::string& bytes) { return bytes.size() >= 262 && bytes.compare(257, 5, "ustar") == 0; }

// The first bytes of a gzip file's content (enough to recognise IDX or tar inside).
std::string gunzip_prefix(const std::string& path, size_t n) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz) throw make_error<InputError>("{}: cannot open for reading", path);
  std::string prefix(n, '\0');
  const int got = gzread(gz, prefix.data(), static_cast<unsigned>(n));
  gzclose_r(gz);
  prefix.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return prefix;
}

std::string hex_prefix(const std::string& bytes) {
  std::string text;
  for (size_t i = 0; i < std::min<size_t>(4, bytes.size()); ++i) {
    text += fmt::format("{}{:02x}", i ? " " : "", static_cast<uint8_t>(bytes[i]));
  }
  return text;
}

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : separator) + item;
  return text;
}

DatasetArrays import_idx(const std::string& path, const ImportOptions& options, std::string* format) {
  const IdxArray images = read_idx_file(path, 3);
  *format = images.gzipped ? "idx.gz" : "idx";
  DatasetArrays arrays;
  arrays.num_images = images.dims[0];
  arrays.image = ImageShape{1, images.dims[1], images.dims[2]};
  arrays.images = images.data;  // [N, H, W] row-major is [N, 1, H, W]
  if (options.labels_path) {
    const IdxArray labels = read_idx_file(*options.labels_path, 1);
    if (labels.dims[0] != arrays.num_images) {
      throw make_error<InputError>(
          "{}: {} labels, but {} has {} images; pass the labels file that belongs to these "
          "images (train-labels with train-images, t10k-labels with t10k-images)",
          *options.labels_path, labels.dims[0], path, arrays.num_images);
    }
    arrays.labels = std::vector<int64_t>(labels.data.begin(), labels.data.end());
    arrays.attributes["labels_file"] = *options.labels_path;
  }
  return arrays;
}

DatasetArrays import_cifar10(const std::string& path, const ImportOptions& options) {
  if (options.labels_path) {
    throw make_error<InputError>("{}: CIFAR-10 batches carry their own labels; drop --labels {}", path,
                                 *options.labels_path);
  }
  const RawFile raw = read_raw_file(path);
  const auto size = static_cast<int64_t>(raw.bytes.size());
  if (size == 0 || size % kCifarRecord != 0) {
    throw make_error<InputError>(
        "{}: {} bytes is not a whole number of CIFAR-10 records ({} bytes each: 1 label + "
        "3072 pixels); truncated? re-extract cifar-10-binary.tar.gz",
        path, size, kCifarRecord);
  }
  DatasetArrays arrays;
  arrays.num_images = size / kCifarRecord;
  arrays.image = ImageShape{3, 32, 32};
  arrays.images.resize(static_cast<size_t>(arrays.num_images * arrays.image.pixels()));
  std::vector<int64_t> labels(static_cast<size_t>(arrays.num_images));
  for (int64_t i = 0; i < arrays.num_images; ++i) {
    const auto* record = reinterpret_cast<const uint8_t*>(raw.bytes.data()) + i * kCifarRecord;
    if (record[0] > 9) {
      throw make_error<InputError>(
          "{}: record {} has label byte {}, CIFAR-10 labels are 0..9: not a CIFAR-10 batch "
          "(CIFAR-100's 3074-byte records are not supported)",
          path, i, record[0]);
    }
    labels[static_cast<size_t>(i)] = record[0];
    // Pixels are already channel planes of 32 rows of 32: NCHW as stored.
    std::copy(record + 1, record + kCifarRecord, arrays.images.begin() + i * arrays.image.pixels());
  }
  arrays.labels = std::move(labels);
  return arrays;
}

std::string imagenet_version_note(const std::string& version) {
  if (version == "old") {
    return "old downsampled ImageNet: van den Oord et al. 2016 (Pixel Recurrent Neural Networks) release";
  }
  if (version == "new") {
    return "new downsampled ImageNet: Chrabaszcz, Loshchilov & Hutter 2017 (A Downsampled Variant of ImageNet), "
           "box resize, .npz release";
  }
  return "unknown downsampled-ImageNet release: do not compare bits/dim with published numbers";
}

DatasetArrays import_npz(const std::string& path, const ImportOptions& options) {
  const std::vector<std::string>& versions = imagenet_versions();
  if (!options.imagenet_version ||
      std::find(versions.begin(), versions.end(), *options.imagenet_version) == versions.end()) {
    throw make_error<ConfigError>(
        "{}: say which downsampled-ImageNet release this is with --imagenet-version {} (got {}). old = van den Oord "
        "et al. 2016, new = Chrabaszcz et al. 2017 (the .npz batches on image-net.org); the two differ by ~0.26 "
        "bits/dim for the same model, so results must record which one was used",
        path, join(versions, "|"), options.imagenet_version ? "'" + *options.imagenet_version + "'" : "nothing");
  }
  if (options.labels_path) {
    throw make_error<InputError>("{}: .npz batches carry their labels in 'labels'; drop --labels", path);
  }
  const NpzArchive archive(path);
  const NpyArray data = archive.read("data");
  const std::vector<uint8_t>& pixels = data.uint8_data();
  const std::vector<int64_t>& s = data.shape;
  // A zero extent anywhere means no images (or empty ones); with s[0] >= 1 the other extents are bounded by
  // the data bytes, which parse_npy matched to the file's length, so the arithmetic below cannot overflow.
  if (s.empty() || std::find(s.begin(), s.end(), 0) != s.end()) {
    throw make_error<InputError>(
        "{}: 'data' has shape {}: no images (a zero or missing extent); a dataset needs at least one image of at "
        "least 1x1 pixels",
        path, data.shape_text());
  }
  DatasetArrays arrays;
  bool channels_last = false;
  if (s.size() == 2 && s[1] % 3 == 0) {
    const auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(s[1] / 3))));
    if (3 * side * side == s[1]) arrays.image = ImageShape{3, side, side};
  } else if (s.size() == 4 && s[1] == 3) {
    arrays.image = ImageShape{3, s[2], s[3]};
  } else if (s.size() == 4 && s[3] == 3) {
    arrays.image = ImageShape{3, s[1], s[2]};
    channels_last = true;
  }
  if (arrays.image.channels == 0) {
    throw make_error<InputError>(
        "{}: 'data' has shape {}; expected [N, 3*S*S] (channel planes, e.g. 3072 for 32x32), "
        "[N, 3, S, S] or [N, S, S, 3]",
        path, data.shape_text());
  }
  arrays.num_images = s[0];
  const int64_t plane = arrays.image.height * arrays.image.width;
  if (!channels_last) {
    arrays.images = pixels;
  } else {
    arrays.images.resize(pixels.size());
    for (int64_t n = 0; n < arrays.num_images; ++n) {
      const uint8_t* in = pixels.data() + n * 3 * plane;
      uint8_t* out = arrays.images.data() + n * 3 * plane;
      for (int64_t p = 0; p < plane; ++p) {
        for (int64_t c = 0; c < 3; ++c) out[c * plane + p] = in[p * 3 + c];
      }
    }
  }
  if (archive.contains("labels")) {
    const NpyArray labels = archive.read("labels");
    if (labels.shape.size() != 1 || labels.shape[0] != arrays.num_images) {
      throw make_error<InputError>("{}: 'labels' has shape {}, expected ({},) (one per image in 'data')", path,
                                   labels.shape_text(), arrays.num_images);
    }
    arrays.labels = labels.to_int64();
  }
  arrays.attributes["imagenet_version"] = *options.imagenet_version;
  arrays.attributes["imagenet_version_note"] = imagenet_version_note(*options.imagenet_version);
  return arrays;
}

}  // namespace

const std::vector<std::string>& imagenet_versions() {
  static const std::vector<std::string> versions = {"old", "new", "unknown"};
  return versions;
}

std::string detect_source_format(const std::string& path) {
  const std::string head = read_file_prefix(path, 512);
  if (head.size() >= 2 && static_cast<uint8_t>(head[0]) == 0x1f && static_cast<uint8_t>(head[1]) == 0x8b) {
    const std::string inner = gunzip_prefix(path, 512);
    if (looks_like_idx(inner)) return "idx";
    if (is_tar(inner)) {
      throw make_error<InputError>(
          "{}: a .tar.gz archive; extract it first (tar xzf {}) and pass the data files "
          "inside (e.g. data_batch_1.bin)",
          path, path);
    }
    throw make_error<InputError>("{}: gzip file whose content is not IDX; expected {}", path, kFormats);
  }
  if (starts_with(head, "PK\x03\x04") || starts_with(head, std::string_view("PK\x05\x06", 4))) return "npz";
  if (starts_with(head, "\x93NUMPY")) {
    throw make_error<InputError>(
        "{}: a single .npy array; store images (and labels) in an .npz: "
        "np.savez(FILE, data=images, labels=labels)",
        path);
  }
  if (starts_with(head, "\x89HDF\r\n\x1a\n")) {
    throw make_error<InputError>(
        "{}: already an HDF5 file; a dataset file (/images uint8 [N,C,H,W]) is used as it "
        "is, without prepare",
        path);
  }
  if (looks_like_idx(head)) return "idx";
  if (is_tar(head)) throw make_error<InputError>("{}: a tar archive; extract it first (tar xf {})", path, path);
  const auto size = static_cast<int64_t>(std::filesystem::file_size(path));
  if (size > 0 && size % kCifarRecord == 0 && static_cast<uint8_t>(head[0]) <= 9) return "cifar10";
  throw make_error<InputError>("{}: unrecognised format ({} bytes, first bytes {}); expected {}{}", path, size,
                               hex_prefix(head), kFormats,
                               size % kCifarRecord != 0 && size > kCifarRecord
                                   ? fmt::format(" (not a multiple of {}: a truncated CIFAR-10 batch?)", kCifarRecord)
                                   : "");
}

DatasetArrays import_dataset(const std::vector<std::string>& inputs, const ImportOptions& options) {
  if (inputs.empty()) throw make_error<ConfigError>("prepare: no input file given; use --input FILE");
  const std::string format = detect_source_format(inputs.front());
  if (format == "idx" && options.labels_path && inputs.size() > 1) {
    throw make_error<ConfigError>("prepare: --labels pairs with one IDX images file, got {} inputs", inputs.size());
  }
  DatasetArrays result;
  std::string source_format;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string& path = inputs[i];
    const std::string this_format = i == 0 ? format : detect_source_format(path);
    if (this_format != format) {
      throw make_error<InputError>("{}: is {}, but {} is {}; inputs are concatenated and must share one format", path,
                                   this_format, inputs.front(), format);
    }
    DatasetArrays part = format == "idx"       ? import_idx(path, options, &source_format)
                         : format == "cifar10" ? import_cifar10(path, options)
                                               : import_npz(path, options);
    if (i == 0) {
      result = std::move(part);
      continue;
    }
    if (!(part.image == result.image) || part.labels.has_value() != result.labels.has_value()) {
      throw make_error<InputError>("{}: images {}{} do not match {}'s {}{}; concatenate only parts of one dataset",
                                   path, part.image.text(), part.labels ? " with labels" : "", inputs.front(),
                                   result.image.text(), result.labels ? " with labels" : "");
    }
    result.num_images += part.num_images;
    result.images.insert(result.images.end(), part.images.begin(), part.images.end());
    if (part.labels) result.labels->insert(result.labels->end(), part.labels->begin(), part.labels->end());
  }
  if (result.num_images < 1 || result.image.pixels() < 1) {
    throw make_error<InputError>("{}: holds {} images of {}; a dataset needs at least one image", join(inputs, ", "),
                                 result.num_images, result.image.text());
  }
  result.attributes["source_format"] = format == "idx" ? source_format : format == "cifar10" ? "cifar10-binary" : "npz";
  result.attributes["source_files"] = join(inputs, "\n");
  return result;
}

}  // namespace switchdiff::io
