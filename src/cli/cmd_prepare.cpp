// `switchdiff prepare`: IDX (MNIST / Fashion-MNIST, plain or .gz), CIFAR-10 binary batches and downsampled-
// ImageNet .npz -> the dataset file of docs/formats.md. Single process: the work is one read and one write.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"
#include "io/dataset_file.h"
#include "io/dataset_import.h"
#include "pipeline/prepare_job.h"

namespace switchdiff::cli {
namespace {

std::vector<std::string> split_inputs(const std::string& list) {
  std::vector<std::string> inputs;
  size_t begin = 0;
  while (begin <= list.size()) {
    const size_t end = std::min(list.find(',', begin), list.size());
    std::string item = list.substr(begin, end - begin);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty()) {
      throw make_error<ConfigError>("--input '{}': empty entry; give FILE or FILE1,FILE2,... (comma-separated)", list);
    }
    inputs.push_back(item);
    begin = end + 1;
  }
  return inputs;
}

}  // namespace

Command prepare_command() {
  Command c;
  c.uses_mpi = false;
  c.spec.name = "prepare";
  c.spec.summary =
      "Converts a dataset into switchdiff's HDF5 dataset file (/images uint8 [N,C,H,W], /labels int64 [N]). The "
      "format is recognised by content: IDX images (MNIST, Fashion-MNIST; plain or .gz) with --labels, CIFAR-10 "
      "binary batches, downsampled-ImageNet .npz (with --imagenet-version). Several inputs of one format (e.g. the "
      "five CIFAR-10 training batches) are concatenated in the order given. The file records the sources and their "
      "SHA-256, and the SHA-256 of the image bytes. An existing output is never overwritten.";
  c.spec.sections = {"output"};
  c.spec.flags = {{"input", "source file, or several comma-separated: FILE1,FILE2,...", true},
                  {"labels", "IDX labels file for IDX images (e.g. t10k-labels-idx1-ubyte.gz)"},
                  {"imagenet-version", "old | new | unknown: which downsampled-ImageNet release an .npz input is"}};
  c.run = [](const ParsedCommandLine& args, const dist::Communicator&) {
    pipeline::PrepareJob job;
    job.inputs = split_inputs(args.flags.at("input"));
    job.output_path = args.config.text("output.path");
    if (args.flags.count("labels")) job.import.labels_path = args.flags.at("labels");
    if (args.flags.count("imagenet-version")) job.import.imagenet_version = args.flags.at("imagenet-version");
    job.command = args.command_line;
    const pipeline::PrepareResult result = pipeline::run_prepare_job(job);
    const io::DatasetArrays& arrays = result.arrays;
    const std::string& output = job.output_path;
    const std::string& images_sha256 = result.images_sha256;

    core::info("{:<16} {}", "output", output);
    core::info("{:<16} {}", "format", arrays.attributes.at("source_format"));
    core::info("{:<16} {}", "images", arrays.num_images);
    core::info("{:<16} {}", "image shape", arrays.image.text());
    if (arrays.labels) {
      const auto [lo, hi] = std::minmax_element(arrays.labels->begin(), arrays.labels->end());
      core::info("{:<16} {} .. {}", "labels", arrays.labels->empty() ? 0 : *lo, arrays.labels->empty() ? 0 : *hi);
    } else {
      core::info("{:<16} none", "labels");
    }
    if (arrays.attributes.count("imagenet_version")) {
      core::info("{:<16} {}", "imagenet", arrays.attributes.at("imagenet_version_note"));
    }
    core::info("{:<16} {}", "images sha256", images_sha256);
    return 0;
  };
  return c;
}

}  // namespace switchdiff::cli
