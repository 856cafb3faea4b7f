#pragma once
// The bundled demo's data (docs/cli.md#form): Fashion-MNIST from Debian's dataset-fashion-mnist package, converted
// on first use, so `switchdiff sweep` with no config runs with nothing prepared by hand.
#include <string>

#include "dist/communicator.h"
#include "pipeline/run_metadata.h"

namespace switchdiff::cli {

// configs/demo.ini of the source tree this binary was built from: the default config of the commands that load
// experts (sample, nll, sweep) when neither --config nor --experts.quality is given.
std::string bundled_demo_config();

// Makes `test_dataset` (the 10k test images, `switchdiff prepare` format) and `train_statistics` (feature
// statistics of the 60k training images with `extractor`) when missing. Collective. InputError with the
// apt-get fix when the package is not installed.
void ensure_demo_data(const dist::Communicator& comm, const std::string& test_dataset,
                      const std::string& train_statistics, const std::string& extractor, int64_t batch,
                      const pipeline::RunMetadata& meta);

}  // namespace switchdiff::cli
