#include "pipeline/fid_job.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>

#include "core/error.h"
#include "core/log.h"
#include "experts/feature_extractor.h"
#include "core/file_hash.h"
#include "io/dataset_file.h"
#include "io/h5_file.h"
#include "metrics/frechet_distance.h"
#include "pipeline/compute_device.h"
#include "pipeline/durable_file.h"
#include "pipeline/output_path.h"
#include "pipeline/root_check.h"
#include "pipeline/stats_job.h"

namespace switchdiff::pipeline {
namespace {

constexpr const char* kRecomputeHint =
    "FID compares features of one extractor: recompute one side with the other's (`switchdiff stats --dataset FILE "
    "--fid.extractor X.pt`)";

std::string describe(const io::FeatureStatistics& s) {
  return fmt::format("{} ({}{})", s.source, s.format == "npz" ? ".npz" : "HDF5",
                     s.n > 0 ? fmt::format(", n = {}", s.n) : "");
}

// Compares the extractors behind the two sides. Returns the identity to report; warnings for unknown sides.
io::ExtractorIdentity check_same_extractor(const io::ExtractorIdentity& samples, const std::string& samples_what,
                                           const io::FeatureStatistics& reference, std::vector<std::string>* warnings) {
  if (samples.known() && reference.extractor.known()) {
    if (samples.sha256 != reference.extractor.sha256) {
      throw make_error<InputError>(
          "feature extractors differ: the samples {} use {}, the reference {} was computed "
          "with {}; {}",
          samples_what, samples.text(), describe(reference), reference.extractor.text(), kRecomputeHint);
    }
    return samples;
  }
  if (samples.known()) {
    warnings->push_back(
        fmt::format("the reference {} does not record its feature extractor; assuming it used {} "
                    "(EDM's fid.py references use inception-2015-12-05, see tools/export_inception.py)",
                    describe(reference), samples.text()));
    return samples;
  }
  if (reference.extractor.known()) {
    warnings->push_back(
        fmt::format("the samples {} do not record their feature extractor; assuming {} like the "
                    "reference",
                    samples_what, reference.extractor.text()));
    return reference.extractor;
  }
  warnings->push_back(
      fmt::format("neither the samples {} nor the reference {} records its feature extractor; make "
                  "sure both were computed with the same one",
                  samples_what, describe(reference)));
  return {};
}

void check_dimensions(int64_t samples_dim, const std::string& samples_what, const io::FeatureStatistics& reference) {
  if (samples_dim != reference.feature_dim()) {
    throw make_error<InputError>(
        "feature dimensions differ: the samples {} have F = {}, the reference {} has F = {}; "
        "{}",
        samples_what, samples_dim, describe(reference), reference.feature_dim(), kRecomputeHint);
  }
}

void write_fid_file(const FidJob& job, const FidJobResult& result) {
  write_durably(*job.output_path, [&](const std::string& partial) {
    io::H5File file = io::H5File::create(partial, /*overwrite=*/true);
    write_run_metadata(file, job.meta);
    file.write<double>("/fid", {}, &result.fid);
    file.set_string_attribute("/fid", "metric", result.metric);
    file.set_string_attribute("/fid", "extractor_name", result.extractor.name);
    file.set_string_attribute("/fid", "extractor_sha256", result.extractor.sha256);
    file.set_string_attribute("/fid", "samples", job.samples_path);
    file.set_string_attribute("/fid", "reference", job.reference_path);
    file.set_int_attribute("/fid", "samples_n", result.samples_n);
    file.set_int_attribute("/fid", "reference_n", result.reference_n);
    if (result.inception_score) io::write_inception_score(file, *result.inception_score);
    file.close();
  });
}

}  // namespace

std::string fid_metric_name(const std::string& extractor_name) {
  std::string lower = extractor_name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (extractor_name.empty() || lower.find("inception") != std::string::npos) return "FID";
  return fmt::format("FID ({} features)", extractor_name);
}

FidJobResult run_fid_job(const dist::Communicator& comm, const FidJob& job) {
  FidJobResult result;
  io::FeatureStatistics reference;
  io::FeatureStatistics samples;
  std::optional<io::DatasetReader> reader;
  std::unique_ptr<experts::FeatureExtractor> extractor;
  std::string samples_are_images;  // "1" or "" (broadcast to every rank)
  const std::string samples_what = job.samples_path;

  check_on_root(comm, [&] {
    if (job.output_path) {
      ensure_writable_output(*job.output_path);
      refuse_existing_output(*job.output_path);
    }
    reference = io::read_feature_statistics(job.reference_path);
    result.reference_n = reference.n;
    if (io::holds_feature_statistics(job.samples_path)) {
      samples = io::read_feature_statistics(job.samples_path);
      io::ExtractorIdentity identity = samples.extractor;
      if (job.extractor_path) {
        // Only its hash is needed: the features are already summarised.
        const io::ExtractorIdentity given{"", core::sha256_file(*job.extractor_path), *job.extractor_path};
        if (identity.known() && identity.sha256 != given.sha256) {
          throw make_error<InputError>(
              "feature extractors differ: --samples {} was computed with {}, but "
              "--fid.extractor is {} (sha256 {}...); drop --fid.extractor or recompute the "
              "statistics with it",
              job.samples_path, identity.text(), given.path, given.sha256.substr(0, 12));
        }
        if (!identity.known()) identity = given;
      }
      result.extractor = check_same_extractor(identity, samples_what, reference, &result.warnings);
      check_dimensions(samples.feature_dim(), samples_what, reference);
      result.samples_n = samples.n;
      result.inception_score = samples.inception_score;
      return;
    }
    if (!io::H5File::open_input(job.samples_path).is_dataset("/images")) {
      throw make_error<InputError>(
          "--samples {}: has neither /images (a samples or dataset file) nor /mu and /sigma "
          "(a statistics file)",
          job.samples_path);
    }
    samples_are_images = "1";
    if (!job.extractor_path) {
      throw make_error<ConfigError>(
          "--samples {} holds images: give --fid.extractor X.pt to compute their features "
          "(the reference was computed with {})",
          job.samples_path, reference.extractor.text());
    }
    reader.emplace(job.samples_path);
    if (reader->size() < 2) {
      throw make_error<InputError>("{}: {} image(s); FID needs at least 2 samples (normally 50000)", job.samples_path,
                                   reader->size());
    }
    extractor = std::make_unique<experts::FeatureExtractor>(*job.extractor_path, compute_device(comm, job.device));
    result.extractor = check_same_extractor({extractor->name(), extractor->sha256(), extractor->path()}, samples_what,
                                            reference, &result.warnings);
    check_dimensions(extractor->feature_dim(), samples_what + " (extractor '" + extractor->name() + "')", reference);
  });
  for (const std::string& warning : result.warnings) core::log_warning(warning);
  comm.broadcast(samples_are_images);

  if (!samples_are_images.empty()) {
    if (!comm.is_root()) {
      reader.emplace(job.samples_path);
      extractor = std::make_unique<experts::FeatureExtractor>(*job.extractor_path, compute_device(comm, job.device));
    }
    FeatureStatsOptions options;
    options.batch = job.batch;
    options.progress_label = "fid features";
    const FeatureStatsResult stats = compute_feature_stats(
        comm, *extractor, reader->size(),
        [&](int64_t begin, int64_t end) { return reader->read_images_tensor(begin, end); }, options);
    samples = to_feature_statistics(stats, *extractor);
    result.samples_n = samples.n;
    result.inception_score = samples.inception_score;
  }

  at::Tensor fid = at::zeros({1}, at::kDouble);
  check_on_root(comm, [&] {
    fid[0] = metrics::frechet_distance(samples.mu, samples.sigma, reference.mu, reference.sigma);
    result.fid = fid[0].item<double>();
    result.metric = fid_metric_name(result.extractor.name);
    if (job.output_path) write_fid_file(job, result);
  });
  comm.broadcast(fid);
  result.fid = fid[0].item<double>();
  result.metric = fid_metric_name(result.extractor.name);
  return result;
}

}  // namespace switchdiff::pipeline
