#pragma once
// Feature statistics of a set of images over all ranks (docs/metrics.md, docs/cli.md `switchdiff stats`), and the job
// that writes them for a dataset or samples file.
//
// Determinism (docs/style.md, docs/determinism.md): images are cut into fixed global blocks of `block_images`
// images (dist::ShardPlan), independent of `batch`; each block's features are extracted in calls of at most
// `batch` images and its sums (n, sum f, sum f f^T and the Inception Score split sums, packed by
// metrics/stats_slot.h) are formed at once on the rank that owns it, then reduced with
// dist::ordered_block_sum, i.e. added in block order. The result therefore depends only on the images (and the
// extractor's per-image output), is bitwise identical for any number of ranks, and for any `batch` whose calls
// give the extractor's float32 kernels the same per-image output (all B >= 2 for the tiny test extractors).
// Blocks are reduced in groups of a fixed number of blocks (at most 256, fewer when the slots are big: one
// F = 2048 slot is 32 MiB), chosen from the slot size alone: memory stays bounded and the summation order never
// depends on the rank count. Ranks beyond the group's block count idle during that group.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "dist/communicator.h"
#include "experts/feature_extractor.h"
#include "io/reference_stats.h"
#include "metrics/inception_score.h"
#include "pipeline/compute_device.h"
#include "metrics/inception_stats.h"
#include "pipeline/run_metadata.h"

namespace switchdiff::pipeline {

// uint8 CPU images [end - begin, C, H, W] with global indices [begin, end). Called by the rank that owns
// the block, for blocks of at most `block_images` images.
using ImageSource = std::function<at::Tensor(int64_t begin, int64_t end)>;

struct FeatureStatsOptions {
  int64_t batch = 64;                   // images per extractor call (fid.batch)
  int64_t block_images = 512;           // images per reduction block: fixed, so sums do not depend on batch
  int64_t inception_score_splits = 10;  // Inception Score over this many splits (when the extractor has logits)
  std::string progress_label = "features";
  // Bytes of block partials held per reduction group (fixed, so the order of additions never depends on
  // the rank count). Tests lower it to exercise several groups.
  int64_t group_bytes = int64_t{512} << 20;
};

struct FeatureStatsResult {
  metrics::InceptionStats stats{1};
  std::optional<metrics::InceptionScore> inception_score;  // logits present and N >= splits
  double seconds = 0.0;
};

// Collective over comm; every rank gets the same result. The extractor runs on its own device; sums are
// float64. InputError from the extractor or the image source propagates (every rank should see the same
// inputs, so every rank fails alike).
FeatureStatsResult compute_feature_stats(const dist::Communicator& comm, const experts::FeatureExtractor& extractor,
                                         int64_t num_images, const ImageSource& images,
                                         const FeatureStatsOptions& options);

// The statistics record of a result, ready for io::write_feature_statistics (mu, sigma, n, sums, extractor
// identity, Inception Score). InputError when n < 2.
io::FeatureStatistics to_feature_statistics(const FeatureStatsResult& result,
                                            const experts::FeatureExtractor& extractor);

// Statistics of the images of a dataset or samples file (HDF5 /images uint8 [N, C, H, W]).
struct StatsJob {
  std::string dataset_path;
  std::string extractor_path;
  std::optional<int64_t> count;  // first `count` images (all when absent)
  FeatureStatsOptions options;
  std::string device = kAutoDevice;  // run.device (pipeline/compute_device.h)
  std::string output_path;
  RunMetadata meta;
};

struct StatsJobResult {
  io::FeatureStatistics statistics;
  double seconds = 0.0;
};

// Collective. Checks the output path (never overwritten) and the inputs before any work; rank 0 writes
// the file (root run metadata, dataset path and image count, the statistics).
StatsJobResult run_stats_job(const dist::Communicator& comm, const StatsJob& job);

}  // namespace switchdiff::pipeline
