#include "pipeline/stats_job.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>

#include "core/error.h"
#include "core/log.h"
#include "dist/ordered_sum.h"
#include "dist/shard_plan.h"
#include "io/dataset_file.h"
#include "io/h5_file.h"
#include "metrics/stats_slot.h"
#include "pipeline/compute_device.h"
#include "pipeline/durable_file.h"
#include "pipeline/output_path.h"
#include "pipeline/root_check.h"
#include "pipeline/stop_request.h"

namespace switchdiff::pipeline {
namespace {

constexpr int64_t kMaxGroupBlocks = 256;

// A block's sums: its features (and logits) extracted in calls of at most `batch` images, concatenated, then
// summed at once in float64, so the sums do not depend on `batch` as long as the extractor gives each image the
// same features in any call. A last call of one image joins the one before: LibTorch picks another convolution
// kernel for B = 1, whose float32 output differs (tests/cli/test_cli_stats_fid.cpp measures ~1e-8).
at::Tensor block_slot(const experts::FeatureExtractor& extractor, const at::Tensor& images, int64_t first_index,
                      int64_t num_images, const metrics::StatsSlotLayout& layout, int64_t batch) {
  std::vector<at::Tensor> features, logits;
  const int64_t count = images.size(0);
  for (int64_t begin = 0; begin < count;) {
    int64_t size = std::min(batch, count - begin);
    if (count - begin - size == 1) ++size;
    const at::Tensor part = images.narrow(0, begin, size);
    features.push_back(extractor.features(part).to(at::kDouble));
    if (layout.splits > 0) logits.push_back(extractor.logits(part));
    begin += size;
  }
  const at::Tensor all_features = at::cat(features);
  metrics::InceptionStats stats(layout.features, all_features.device());
  stats.add(all_features);
  std::optional<metrics::InceptionScoreAccumulator> score;
  if (layout.splits > 0) {
    score.emplace(num_images, layout.classes, layout.splits);
    score->add(at::cat(logits), first_index);
  }
  return metrics::pack_stats_slot(layout, stats, score ? &*score : nullptr);
}

}  // namespace

FeatureStatsResult compute_feature_stats(const dist::Communicator& comm, const experts::FeatureExtractor& extractor,
                                         int64_t num_images, const ImageSource& images,
                                         const FeatureStatsOptions& options) {
  if (options.batch < 1) throw make_error<ConfigError>("fid.batch = {} must be >= 1", options.batch);
  if (options.block_images < 1) throw make_error<ConfigError>("block of {} images: must be >= 1", options.block_images);
  if (num_images < 1) throw make_error<InputError>("feature statistics of {} images: need at least 1", num_images);
  metrics::StatsSlotLayout layout;
  layout.features = extractor.feature_dim();
  // IS needs every split non-empty; below `splits` images it is not defined (left out, not an error).
  if (extractor.has_logits() && num_images >= options.inception_score_splits) {
    layout.splits = options.inception_score_splits;
    layout.classes = extractor.num_classes();
  }
  const int64_t slot_bytes = layout.numel() * static_cast<int64_t>(sizeof(double));
  const dist::ShardPlan plan(num_images, options.block_images, comm.size());
  // Blocks per group: a function of the slot size only, never of the rank count (see the header). At most
  // kMaxGroupBlocks, so progress lines and stop checks come at least every 256 blocks.
  const int64_t group_blocks =
      std::clamp<int64_t>(std::min(options.group_bytes / slot_bytes, kMaxGroupBlocks), 1, plan.num_blocks());

  at::Tensor total = at::zeros({layout.numel()}, at::kDouble);
  core::Progress progress(options.progress_label, num_images, "images");
  for (int64_t first_block = 0; first_block < plan.num_blocks(); first_block += group_blocks) {
    const int64_t first_item = plan.block(first_block).begin;
    const int64_t last_block = std::min(first_block + group_blocks, plan.num_blocks()) - 1;
    const int64_t group_items = plan.block(last_block).end - first_item;
    // The group's blocks are the global blocks first_block.. (same boundaries).
    const dist::ShardPlan group(group_items, options.block_images, comm.size());
    std::map<int64_t, at::Tensor> partials;
    int64_t mine_done = 0;
    for (const dist::Block& block : group.blocks_for_rank(comm.rank())) {
      const int64_t begin = first_item + block.begin;
      const at::Tensor batch = images(begin, first_item + block.end);
      partials[block.index] = block_slot(extractor, batch, begin, num_images, layout, options.batch);
      mine_done += block.size();
      // Rank 0's share times the rank count: an estimate for the progress line, exact at the group's end.
      progress.update(first_item + std::min(group_items, mine_done * comm.size()));
    }
    total.add_(dist::ordered_block_sum(comm, group, partials, {layout.numel()}));
    progress.update(first_item + group_items);
    if (comm.any(stop_requested()) && last_block + 1 < plan.num_blocks()) {
      throw make_error<Interrupted>(
          "stopped by a signal after {}/{} images; statistics are not saved part-way, run "
          "the command again",
          first_item + group_items, num_images);
    }
  }
  progress.finish();

  FeatureStatsResult result;
  if (layout.splits > 0) {
    metrics::InceptionScoreAccumulator score(num_images, layout.classes, layout.splits);
    result.stats = metrics::unpack_stats_slot(layout, total, &score);
    result.inception_score = score.result();
  } else {
    result.stats = metrics::unpack_stats_slot(layout, total, nullptr);
  }
  result.seconds = progress.elapsed_seconds();
  return result;
}

io::FeatureStatistics to_feature_statistics(const FeatureStatsResult& result,
                                            const experts::FeatureExtractor& extractor) {
  io::FeatureStatistics s;
  s.n = result.stats.count();
  s.mu = result.stats.mean().cpu();
  s.sigma = result.stats.covariance().cpu();  // InputError naming n when n < 2
  s.sum = result.stats.sum().cpu();
  s.sum_outer = result.stats.sum_outer().cpu();
  s.extractor = {extractor.name(), extractor.sha256(), extractor.path()};
  if (result.inception_score) {
    const auto& is = *result.inception_score;
    s.inception_score = io::InceptionScoreRecord{is.mean, is.std, is.num_splits, is.num_samples};
  }
  s.format = "hdf5";
  return s;
}

StatsJobResult run_stats_job(const dist::Communicator& comm, const StatsJob& job) {
  std::optional<io::DatasetReader> reader;
  std::unique_ptr<experts::FeatureExtractor> extractor;
  int64_t num_images = 0;
  const auto open_inputs = [&] {
    reader.emplace(job.dataset_path);
    num_images = reader->size();
    if (job.count) {
      if (*job.count < 1 || *job.count > reader->size()) {
        throw make_error<ConfigError>("--count {} is out of range: {} holds {} images", *job.count, job.dataset_path,
                                      reader->size());
      }
      num_images = *job.count;
    }
    if (num_images < 2) {
      throw make_error<InputError>(
          "{}: {} image(s); statistics need at least 2 (the covariance is undefined "
          "for one; FID is normally computed over 50000)",
          job.dataset_path, num_images);
    }
    extractor = std::make_unique<experts::FeatureExtractor>(job.extractor_path, compute_device(comm, job.device));
  };
  check_on_root(comm, [&] {
    ensure_writable_output(job.output_path);
    refuse_existing_output(job.output_path);
    open_inputs();
  });
  if (!comm.is_root()) open_inputs();
  core::info(
      "statistics of {} images {} from {} with extractor '{}' (F = {}{})", num_images, reader->info().image.text(),
      job.dataset_path, extractor->name(), extractor->feature_dim(),
      extractor->has_logits() ? fmt::format(", {} classes for the Inception Score", extractor->num_classes()) : "");

  const FeatureStatsResult result = compute_feature_stats(
      comm, *extractor, num_images, [&](int64_t begin, int64_t end) { return reader->read_images_tensor(begin, end); },
      job.options);
  StatsJobResult out;
  out.statistics = to_feature_statistics(result, *extractor);
  out.statistics.source = job.output_path;
  out.seconds = result.seconds;

  if (comm.is_root()) {
    write_durably(job.output_path, [&](const std::string& partial) {
      io::H5File file = io::H5File::create(partial, /*overwrite=*/true);
      write_run_metadata(file, job.meta);
      write_feature_statistics(file, out.statistics);
      file.set_string_attribute("/", "dataset", job.dataset_path);
      file.set_int_attribute("/", "dataset_images", num_images);
      file.set_string_attribute("/", "image_shape", reader->info().image.text());
      const auto source = reader->attributes();
      if (source.count("images_sha256") && num_images == reader->size()) {
        file.set_string_attribute("/", "dataset_images_sha256", source.at("images_sha256"));
      }
      file.set_int_attribute("/", "fid_batch", job.options.batch);
      file.close();
    });
  }
  comm.barrier();
  return out;
}

}  // namespace switchdiff::pipeline
