#include "cli/demo_data.h"

#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "pipeline/prepare_job.h"
#include "pipeline/root_check.h"
#include "pipeline/stats_job.h"

namespace switchdiff::cli {
namespace {

constexpr const char* kFashionMnist = "/usr/share/datasets/fashion-mnist";

// Rank 0 converts one split ("t10k" or "train") of the IDX files into a dataset file.
void prepare_split(const std::string& split, const std::string& output) {
  const std::string images = fmt::format("{}/{}-images-idx3-ubyte.gz", kFashionMnist, split);
  const std::string labels = fmt::format("{}/{}-labels-idx1-ubyte.gz", kFashionMnist, split);
  if (!std::filesystem::exists(images)) {
    throw make_error<InputError>(
        "{} not found: the demo needs Debian's Fashion-MNIST; run tools/install_deps.sh "
        "(apt-get install dataset-fashion-mnist), or pass --config with your own data",
        images);
  }
  core::info("demo data: converting {} -> {}", images, output);
  pipeline::PrepareJob job;
  job.inputs = {images};
  job.import.labels_path = labels;
  job.output_path = output;
  job.command = "switchdiff (bundled demo: first use)";
  pipeline::run_prepare_job(job);
}

}  // namespace

std::string bundled_demo_config() { return std::string(SWITCHDIFF_SOURCE_DIR) + "/configs/demo.ini"; }

void ensure_demo_data(const dist::Communicator& comm, const std::string& test_dataset,
                      const std::string& train_statistics, const std::string& extractor, int64_t batch,
                      const pipeline::RunMetadata& meta) {
  const std::string train_dataset =
      (std::filesystem::path(test_dataset).parent_path() / "fashion-mnist-train.h5").string();
  bool need_statistics = false;
  pipeline::check_on_root(comm, [&] {
    if (!std::filesystem::exists(test_dataset)) prepare_split("t10k", test_dataset);
    need_statistics = !std::filesystem::exists(train_statistics);
    if (need_statistics && !std::filesystem::exists(train_dataset)) prepare_split("train", train_dataset);
  });
  std::string text = need_statistics ? "1" : "0";  // rank 0's answer for every rank
  comm.broadcast(text);
  if (text != "1") return;
  pipeline::StatsJob job;
  job.dataset_path = train_dataset;
  job.extractor_path = extractor;
  job.options.batch = batch;
  job.options.progress_label = "demo reference statistics";
  job.output_path = train_statistics;
  job.meta = meta;
  pipeline::run_stats_job(comm, job);
}

}  // namespace switchdiff::cli
