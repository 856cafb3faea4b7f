#include "io/reference_stats.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/checked_size.h"
#include "io/h5_file.h"
#include "io/npz_reader.h"
#include "metrics/covariance_check.h"

namespace switchdiff::io {
namespace {

constexpr const char* kRecompute = "recompute it with `switchdiff stats`";

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

bool is_zip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  // Local file header (PK\3\4) or an empty archive's end record (PK\5\6).
  return in.gcount() == 4 && magic[0] == 'P' && magic[1] == 'K' &&
         ((magic[2] == 3 && magic[3] == 4) || (magic[2] == 5 && magic[3] == 6));
}

void require_exists(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    throw make_error<InputError>(
        "{}: no such file; give a statistics file (HDF5 from `switchdiff stats`, or EDM's "
        ".npz)",
        path);
  }
}

// Tolerance of the covariance check (src/metrics/covariance_check.h), relative to the largest variance: far
// above the rounding of float64 sums over 50k images (~1e-10), and for float32 files above the storage rounding
// of F = 2048 entries (||E||_2 <= F * 6e-8 ~ 1.2e-4 worst case), while a corrupt Σ is off by O(1).
constexpr double kCovarianceTolerance64 = 1e-6;
constexpr double kCovarianceTolerance32 = 1e-3;

// mu [F] and sigma [F, F], finite, sigma symmetric PSD. `where` names the file (and format) for messages.
void check_moments(const std::string& where, const std::vector<int64_t>& mu_shape,
                   const std::vector<int64_t>& sigma_shape, const at::Tensor& mu, const at::Tensor& sigma,
                   bool sigma_was_float32) {
  if (mu_shape.size() != 1 || mu_shape[0] < 1) {
    throw make_error<InputError>("{}: mu has shape {}, expected [F] (a feature mean vector); {}", where,
                                 shape_text(mu_shape), kRecompute);
  }
  const int64_t f = mu_shape[0];
  if (sigma_shape != std::vector<int64_t>{f, f}) {
    throw make_error<InputError>("{}: sigma has shape {}, expected [{}, {}] to match mu [{}]; {}", where,
                                 shape_text(sigma_shape), f, f, f, kRecompute);
  }
  if (!at::isfinite(mu).all().item<bool>() || !at::isfinite(sigma).all().item<bool>()) {
    throw make_error<InputError>("{}: mu or sigma contains NaN or infinity; {}", where, kRecompute);
  }
  const double tolerance = sigma_was_float32 ? kCovarianceTolerance32 : kCovarianceTolerance64;
  if (const auto defect = metrics::covariance_defect(sigma.reshape({f, f}), tolerance)) {
    throw make_error<InputError>(
        "{}: sigma is not a covariance matrix ({}; checked: finite, symmetric, positive semi-definite): a corrupt "
        "or wrong file; {}",
        where, *defect, kRecompute);
  }
}

void check_count(const std::string& where, int64_t n) {
  if (n < 2) {
    throw make_error<InputError>(
        "{}: n = {}: statistics of fewer than 2 images have no covariance; compute them "
        "over more images (FID is normally computed over 50000)",
        where, n);
  }
}

at::Tensor to_tensor(std::vector<double> values, const std::vector<int64_t>& shape) {
  return at::tensor(values, at::kDouble).reshape(shape).clone();
}

at::Tensor read_float_dataset(const H5File& file, const std::string& key, std::vector<int64_t>* shape) {
  const DatasetInfo info = file.dataset_info(key);
  if (info.type != ElementType::kFloat32 && info.type != ElementType::kFloat64) {
    throw make_error<InputError>("{}:{} is {}, expected float64 (or float32); {}", file.path(), key, info.type_name,
                                 kRecompute);
  }
  // Bounded by the file's length before the read allocates (an unwritten chunked dataset can declare any size).
  const std::optional<int64_t> count = checked_product(info.shape);
  const uintmax_t file_bytes = std::filesystem::file_size(file.path());
  if (!count || *count > INT64_MAX / 8 || !fits_in_file(*count * 4, file_bytes)) {
    throw make_error<InputError>(
        "{}:{} declares shape {}, more values than the {}-byte file can hold: a damaged "
        "file; {}",
        file.path(), key, shape_text(info.shape), file_bytes, kRecompute);
  }
  *shape = info.shape;
  return to_tensor(file.read<double>(key), info.shape);
}

std::string optional_string(const H5File& file, const std::string& name) {
  return file.has_attribute("/", name) ? file.string_attribute("/", name) : "";
}

FeatureStatistics read_hdf5(const std::string& path) {
  const H5File file = H5File::open_input(path);
  FeatureStatistics stats;
  stats.source = path;
  stats.format = "hdf5";
  for (const char* key : {"/mu", "/sigma"}) {
    if (!file.is_dataset(key)) {
      throw make_error<InputError>(
          "{}: has no {} dataset; a statistics file holds /mu [F] and /sigma [F, F] "
          "(`switchdiff stats` writes one){}",
          path, key,
          file.is_dataset("/images") ? "; this file holds /images: pass it as --samples, "
                                       "or compute its statistics with `switchdiff stats`"
                                     : "");
    }
  }
  std::vector<int64_t> mu_shape, sigma_shape;
  stats.mu = read_float_dataset(file, "/mu", &mu_shape);
  stats.sigma = read_float_dataset(file, "/sigma", &sigma_shape);
  check_moments(path, mu_shape, sigma_shape, stats.mu, stats.sigma,
                file.dataset_info("/sigma").type == ElementType::kFloat32);
  const int64_t f = mu_shape[0];

  if (file.is_dataset("/n")) {
    const DatasetInfo info = file.dataset_info("/n");
    if (checked_product(info.shape) != std::optional<int64_t>(1) ||
        (info.type != ElementType::kInt64 && info.type != ElementType::kInt32 && info.type != ElementType::kUInt8)) {
      throw make_error<InputError>("{}:/n is {} {}, expected one integer (the image count); {}", path, info.type_name,
                                   shape_text(info.shape), kRecompute);
    }
    stats.n = file.read<int64_t>("/n").front();
    check_count(path, stats.n);
  }
  const bool has_sum = file.is_dataset("/sum");
  if (has_sum != file.is_dataset("/sum_outer")) {
    throw make_error<InputError>("{}: has {} but not {}; the raw sums come in pairs; {}", path,
                                 has_sum ? "/sum" : "/sum_outer", has_sum ? "/sum_outer" : "/sum", kRecompute);
  }
  if (has_sum) {
    std::vector<int64_t> sum_shape, outer_shape;
    stats.sum = read_float_dataset(file, "/sum", &sum_shape);
    stats.sum_outer = read_float_dataset(file, "/sum_outer", &outer_shape);
    if (sum_shape != std::vector<int64_t>{f} || outer_shape != std::vector<int64_t>{f, f}) {
      throw make_error<InputError>("{}: /sum {} and /sum_outer {} do not match mu [{}]; {}", path,
                                   shape_text(sum_shape), shape_text(outer_shape), f, kRecompute);
    }
  }
  stats.extractor.name = optional_string(file, "extractor_name");
  stats.extractor.sha256 = optional_string(file, "extractor_sha256");
  stats.extractor.path = optional_string(file, "extractor_path");
  if (file.is_dataset("/inception_score")) {
    const DatasetInfo info = file.dataset_info("/inception_score");
    if (checked_product(info.shape) != std::optional<int64_t>(1) ||
        (info.type != ElementType::kFloat64 && info.type != ElementType::kFloat32)) {
      throw make_error<InputError>("{}:/inception_score is {} {}, expected one float (the mean score); {}", path,
                                   info.type_name, shape_text(info.shape), kRecompute);
    }
    InceptionScoreRecord is;
    is.mean = file.read<double>("/inception_score").front();
    if (file.has_attribute("/inception_score", "std")) is.std = file.double_attribute("/inception_score", "std");
    if (file.has_attribute("/inception_score", "splits")) is.splits = file.int_attribute("/inception_score", "splits");
    if (file.has_attribute("/inception_score", "num_samples")) {
      is.num_samples = file.int_attribute("/inception_score", "num_samples");
    }
    stats.inception_score = is;
  }
  return stats;
}

FeatureStatistics read_npz(const std::string& path) {
  const NpzArchive archive(path);
  FeatureStatistics stats;
  stats.source = path;
  stats.format = "npz";
  const NpyArray mu = archive.read("mu");
  const NpyArray sigma = archive.read("sigma");
  for (const NpyArray* a : {&mu, &sigma}) {
    if (a->kind != 'f') {
      throw make_error<InputError>("{}: is {}, expected float64 (or float32); {}", a->source, a->dtype_name(),
                                   kRecompute);
    }
  }
  // Flat first: the shapes are checked next, with a message naming them.
  stats.mu = to_tensor(mu.to_float64(), {mu.num_elements()});
  stats.sigma = to_tensor(sigma.to_float64(), {sigma.num_elements()});
  check_moments(path + " (.npz)", mu.shape, sigma.shape, stats.mu, stats.sigma, sigma.item_size == 4);
  stats.sigma = stats.sigma.reshape(sigma.shape);
  return stats;
}

}  // namespace

std::string ExtractorIdentity::text() const {
  if (!known()) return "an unknown extractor";
  return fmt::format("'{}' (sha256 {}...{})", name.empty() ? "unnamed" : name, sha256.substr(0, 12),
                     path.empty() ? "" : ", " + path);
}

void write_feature_statistics(H5File& file, const FeatureStatistics& stats) {
  const auto cpu_double = [](const at::Tensor& t) { return t.to(at::kCPU, at::kDouble).contiguous(); };
  const int64_t f = stats.feature_dim();
  const at::Tensor mu = cpu_double(stats.mu);
  const at::Tensor sigma = cpu_double(stats.sigma);
  file.write<double>("/mu", {f}, mu.data_ptr<double>());
  file.write<double>("/sigma", {f, f}, sigma.data_ptr<double>());
  file.write<int64_t>("/n", {}, &stats.n);
  if (stats.sum.defined()) {
    const at::Tensor sum = cpu_double(stats.sum);
    const at::Tensor sum_outer = cpu_double(stats.sum_outer);
    file.write<double>("/sum", {f}, sum.data_ptr<double>());
    file.write<double>("/sum_outer", {f, f}, sum_outer.data_ptr<double>());
  }
  file.set_string_attribute("/", "extractor_name", stats.extractor.name);
  file.set_string_attribute("/", "extractor_sha256", stats.extractor.sha256);
  file.set_string_attribute("/", "extractor_path", stats.extractor.path);
  file.set_int_attribute("/", "feature_dim", f);
  file.set_string_attribute(
      "/", "statistics", "mu = sum/n, sigma = (sum_outer - n mu mu^T)/(n - 1), float64 (docs/metrics.md, EDM fid.py)");
  if (stats.inception_score) write_inception_score(file, *stats.inception_score);
}

void write_inception_score(H5File& file, const InceptionScoreRecord& score) {
  file.write<double>("/inception_score", {}, &score.mean);
  file.set_double_attribute("/inception_score", "std", score.std);
  file.set_int_attribute("/inception_score", "splits", score.splits);
  file.set_int_attribute("/inception_score", "num_samples", score.num_samples);
}

FeatureStatistics read_feature_statistics(const std::string& path) {
  require_exists(path);
  return is_zip(path) ? read_npz(path) : read_hdf5(path);
}

bool holds_feature_statistics(const std::string& path) {
  require_exists(path);
  if (is_zip(path)) return true;
  return H5File::open_input(path).is_dataset("/mu");
}

}  // namespace switchdiff::io
