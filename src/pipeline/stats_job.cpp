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
#include "pipeline/compute_device.h"
#include "pipeline/output_path.h"
#include "pipeline/root_check.h"
#include "pipeline/stop_request.h"

namespace switchdiff::pipeline {
namespace {

constexpr int64_t kMaxGroupBlocks = 256;

// One block's sums in a flat float64 slot: [n | sum f (F) | sum f f^T (F*F) | IS counts (S) | IS sum p (S*K) |
// IS sum p log p (S)]; the Inception Score part only when it is computed.
struct SlotLayout {
  int64_t features = 0;
  int64_t splits = 0;  // 0: no Inception Score
  int64_t classes = 0;
  int64_t sum_offset() const { return 1; }
  int64_t outer_offset() const { return 1 + features; }
  int64_t counts_offset() const { return 1 + features + features * features; }
  int64_t sum_p_offset() const { return counts_offset() + splits; }
  int64_t p_log_p_offset() const { return sum_p_offset() + splits * classes; }
  int64_t numel() const { return p_log_p_offset() + splits; }
};

at::Tensor block_slot(const experts::FeatureExtractor& extractor, const at::Tensor& images, int64_t first_index,
                      int64_t num_images, const SlotLayout& layout, int64_t splits) {
  at::Tensor slot = at::zeros({layout.numel()}, at::kDouble);
  const at::Tensor features = extractor.features(images);
  metrics::InceptionStats stats(layout.features, features.device());
  stats.add(features);
  slot[0] = static_cast<double>(stats.count());
  slot.narrow(0, layout.sum_offset(), layout.features).copy_(stats.sum());
  slot.narrow(0, layout.outer_offset(), layout.features * layout.features).copy_(stats.sum_outer().reshape(-1));
  if (layout.splits > 0) {
    metrics::InceptionScoreAccumulator score(num_images, layout.classes, splits);
    score.add(extractor.logits(images), first_index);
    slot.narrow(0, layout.counts_offset(), layout.splits).copy_(score.counts());
    slot.narrow(0, layout.sum_p_offset(), layout.splits * layout.classes).copy_(score.sum_p().reshape(-1));
    slot.narrow(0, layout.p_log_p_offset(), layout.splits).copy_(score.sum_p_log_p());
  }
  return slot;
}

std::string output_exists_message(const std::string& path) {
  return fmt::format("{} already exists and is never overwritten; choose another --output.path or delete the file",
                     path);
}

}  // namespace

FeatureStatsResult compute_feature_stats(const dist::Communicator& comm, const experts::FeatureExtractor& extractor,
                                         int64_t num_images, const ImageSource& images,
                                         const FeatureStatsOptions& options) {
  if (options.batch < 1) throw make_error<ConfigError>("fid.batch = {} must be >= 1", options.batch);
  if (num_images < 1) throw make_error<InputError>("feature statistics of {} images: need at least 1", num_images);
  SlotLayout layout;
  layout.features = extractor.feature_dim();
  // IS needs every split non-empty; below `splits` images it is not defined (left out, not an error).
  if (extractor.has_logits() && num_images >= options.inception_score_splits) {
    layout.splits = options.inception_score_splits;
    layout.classes = extractor.num_classes();
  }
  const int64_t slot_bytes = layout.numel() * static_cast<int64_t>(sizeof(double));
  const dist::ShardPlan plan(num_images, options.batch, comm.size());
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
    // The group's blocks are the global blocks first_block.. (same boundaries, block size = batch).
    const dist::ShardPlan group(group_items, options.batch, comm.size());
    std::map<int64_t, at::Tensor> partials;
    int64_t mine_done = 0;
    for (const dist::Block& block : group.blocks_for_rank(comm.rank())) {
      const int64_t begin = first_item + block.begin;
      const at::Tensor batch = images(begin, first_item + block.end);
      partials[block.index] = block_slot(extractor, batch, begin, num_images, layout, options.inception_score_splits);
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
  const auto n = static_cast<int64_t>(total[0].item<double>());
  const int64_t f = layout.features;
  result.stats = metrics::InceptionStats::from_sums(n, total.narrow(0, layout.sum_offset(), f),
                                                    total.narrow(0, layout.outer_offset(), f * f).reshape({f, f}));
  if (layout.splits > 0) {
    metrics::InceptionScoreAccumulator score(num_images, layout.classes, layout.splits);
    // The accessors share storage with the accumulator (inception_score.h): fill them with the reduced sums.
    score.counts().copy_(total.narrow(0, layout.counts_offset(), layout.splits));
    score.sum_p().copy_(total.narrow(0, layout.sum_p_offset(), layout.splits * layout.classes)
                            .reshape({layout.splits, layout.classes}));
    score.sum_p_log_p().copy_(total.narrow(0, layout.p_log_p_offset(), layout.splits));
    result.inception_score = score.result();
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
    if (std::filesystem::exists(job.output_path)) throw ConfigError(output_exists_message(job.output_path));
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
    const std::string partial = job.output_path + ".partial";
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
    std::filesystem::rename(partial, job.output_path);
  }
  comm.barrier();
  return out;
}

}  // namespace switchdiff::pipeline
