#pragma once
// Feature-statistics files for FID (docs/metrics.md): what `switchdiff stats` writes and `switchdiff fid` reads.
//
// HDF5 (ours): /mu float64 [F], /sigma float64 [F, F], /n int64 scalar, the raw sums /sum [F] and
// /sum_outer [F, F] (so files of disjoint image sets can be merged by adding them: sigma alone cannot be),
// root attributes extractor_name, extractor_sha256, extractor_path, feature_dim, and optionally the
// Inception Score as /inception_score (scalar, the mean) with attributes std, splits, num_samples.
// Any HDF5 file with /mu and /sigma is accepted as a reference (other writers: extractor unknown).
//
// EDM .npz (NVlabs edm fid.py `np.savez(dest, mu=mu, sigma=sigma)`, plain or compressed): mu and sigma
// only: no image count and no extractor identity.
//
// Every problem with a user's file (missing keys, wrong shapes or dtypes, non-finite values, n < 2,
// truncated or corrupt files) is an InputError naming the file, the key, what was found and what is
// expected. Tensors are float64 CPU.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>

namespace switchdiff::io {

class H5File;

// Which feature extractor produced a set of statistics; empty sha256 = unknown (EDM .npz, foreign files).
struct ExtractorIdentity {
  std::string name;    // the extractor's 'name' attribute, e.g. "inception-2015-12-05"
  std::string sha256;  // of the TorchScript file's bytes
  std::string path;    // as given when the statistics were computed (informational)
  bool known() const { return !sha256.empty(); }
  std::string text() const;  // "'name' (sha256 1234abcd…, path)" or "unknown extractor"
};

struct InceptionScoreRecord {
  double mean = 0.0;
  double std = 0.0;
  int64_t splits = 0;
  int64_t num_samples = 0;
};

struct FeatureStatistics {
  at::Tensor mu;         // float64 [F]
  at::Tensor sigma;      // float64 [F, F]
  int64_t n = -1;        // images behind mu/sigma; -1 when the file does not say (EDM .npz)
  at::Tensor sum;        // float64 [F]; undefined when the file has no raw sums
  at::Tensor sum_outer;  // float64 [F, F]; defined together with sum
  ExtractorIdentity extractor;
  std::optional<InceptionScoreRecord> inception_score;
  std::string source;  // file path (for messages)
  std::string format;  // "hdf5" | "npz"
  int64_t feature_dim() const { return mu.defined() ? mu.size(0) : 0; }
};

// Writes the datasets and attributes above into `file` (ours, writable): mu, sigma and n are required;
// sum/sum_outer and the Inception Score when present. Throws IoError on HDF5 failures.
void write_feature_statistics(H5File& file, const FeatureStatistics& stats);

// Writes /inception_score (the mean) with its attributes std, splits and num_samples: the one layout of the score in
// statistics files and in `switchdiff fid` results (docs/formats.md).
void write_inception_score(H5File& file, const InceptionScoreRecord& score);

// Reads a statistics file, HDF5 or .npz, recognised by content (a zip signature means .npz).
FeatureStatistics read_feature_statistics(const std::string& path);

// True for an .npz archive or an HDF5 file with /mu; false for an HDF5 file without /mu (e.g. a dataset
// or samples file with /images). InputError for a missing file or one that is neither zip nor HDF5.
bool holds_feature_statistics(const std::string& path);

}  // namespace switchdiff::io
