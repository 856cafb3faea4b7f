#pragma once
// `switchdiff fid` (docs/metrics.md, docs/cli.md): the Fréchet distance between the feature statistics of a samples (or
// dataset) file and a reference.
//
// Samples side: an HDF5 file with /images (statistics are computed first, exactly as `switchdiff stats`
// does, with fid.extractor) or a statistics file (HDF5 /mu, /sigma from `switchdiff stats`, or an .npz).
// Reference side: an HDF5 statistics file or EDM's .npz (mu, sigma).
//
// Extractor identity: statistics computed with different feature extractors are not comparable. When both
// sides record their extractor (SHA-256 of the TorchScript file), a mismatch is an InputError naming both.
// EDM .npz files (and foreign HDF5 files) record none: they are accepted with a warning that names the
// extractor assumed, since EDM's published references are plain mu/sigma; the feature dimension must
// still match. A statistics file passed as samples together with fid.extractor must record that extractor.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "io/reference_stats.h"
#include "pipeline/compute_device.h"
#include "pipeline/run_metadata.h"
#include "pipeline/stats_job.h"

namespace switchdiff::pipeline {

struct FidJob {
  std::string samples_path;
  std::string reference_path;
  std::optional<std::string> extractor_path;    // required when the samples file holds images
  int64_t batch = FeatureStatsOptions{}.batch;  // fid.batch, for samples given as images
  std::string device = kAutoDevice;             // run.device, for the extractor (pipeline/compute_device.h)
  std::optional<std::string> output_path;       // /fid (+ /inception_score) when given
  RunMetadata meta;
};

struct FidJobResult {
  double fid = 0.0;
  // "FID" for an Inception extractor, else e.g. "FID (fashion-mnist-classifier features)": FIDs with
  // other features are not comparable with published numbers.
  std::string metric;
  io::ExtractorIdentity extractor;                          // of the samples side (may be unknown)
  std::optional<io::InceptionScoreRecord> inception_score;  // of the samples, when known
  int64_t samples_n = -1;                                   // -1 when the file does not say
  int64_t reference_n = -1;
  std::vector<std::string> warnings;  // also printed (rank 0)
};

// Collective over comm (the feature pass of image samples is sharded; everything else runs on rank 0 and
// is broadcast). Every rank returns the same fid; the other fields are filled on rank 0 (which prints). Checks the
// output path (never overwritten) and both inputs before computing features.
FidJobResult run_fid_job(const dist::Communicator& comm, const FidJob& job);

// The metric's display name for features of the extractor called `extractor_name` ("" = unknown).
std::string fid_metric_name(const std::string& extractor_name);

}  // namespace switchdiff::pipeline
