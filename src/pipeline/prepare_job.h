#pragma once
// Dataset preparation (`switchdiff prepare`, and the bundled demo's first run): source files (IDX, CIFAR-10
// binary, ImageNet .npz; src/io/dataset_import.h) -> one dataset file (docs/formats.md), with the sources' and
// the images' SHA-256 recorded so that a result names exactly which pixels it measured. Single process.
#include <cstdint>
#include <string>
#include <vector>

#include "io/dataset_file.h"
#include "io/dataset_import.h"

namespace switchdiff::pipeline {

struct PrepareJob {
  std::vector<std::string> inputs;  // one format; concatenated in this order (e.g. five CIFAR-10 batches)
  io::ImportOptions import;
  std::string output_path;  // never overwritten (pipeline/output_path.h)
  std::string command;      // recorded in the file
};

struct PrepareResult {
  io::DatasetArrays arrays;  // what was written (images, labels, attributes)
  std::string images_sha256;
};

// ConfigError for an input listed twice or an output that exists or cannot be written; InputError from the
// importers. The file appears whole or not at all (io::write_dataset_file).
PrepareResult run_prepare_job(const PrepareJob& job);

}  // namespace switchdiff::pipeline
