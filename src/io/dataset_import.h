#pragma once
// Importers behind `switchdiff prepare` (docs/formats.md#dataset-files): recognise the source by content and build the
// in-memory dataset that write_dataset_file() stores.
//
//  idx       MNIST / Fashion-MNIST images (magic 0x00000803, [N, H, W] -> [N, 1, H, W]), plain or gzip; labels
//            from ImportOptions::labels_path (magic 0x00000801).
//  cifar10   CIFAR-10 binary batches (data_batch_*.bin, test_batch.bin): records of 1 label byte + 3072 pixel
//            bytes (1024 R, 1024 G, 1024 B, rows of 32) -> [N, 3, 32, 32] and labels 0..9.
//  npz       downsampled ImageNet (ImageNet32/64 .npz batches): 'data' uint8 [N, 3*S*S] (channel planes, as
//            CIFAR), [N, 3, S, S] or [N, S, S, 3]; 'labels' when present (stored as given: 1..1000 in these
//            releases). The two public releases differ (~0.26 bpd for the same model), so the caller must say
//            which one it is (ImportOptions::imagenet_version), and the file records it.
//
// Several inputs of one format are concatenated in the order given (e.g. the five CIFAR-10 training
// batches). Every problem is an InputError naming the file, what was expected and found, and the fix.
#include <optional>
#include <string>
#include <vector>

#include "io/dataset_file.h"

namespace switchdiff::io {

// The accepted values of ImportOptions::imagenet_version.
//  "old": van den Oord et al. 2016 (Pixel Recurrent Neural Networks) downsampled ImageNet, the release the
//         early likelihood papers report on;
//  "new": Chrabaszcz, Loshchilov & Hutter 2017 (A Downsampled Variant of ImageNet), box resize, the .npz
//         release image-net.org distributes now;
//  "unknown": recorded as such (results on it should not be compared with published numbers).
const std::vector<std::string>& imagenet_versions();

struct ImportOptions {
  std::optional<std::string> labels_path;       // IDX labels for IDX images
  std::optional<std::string> imagenet_version;  // required for .npz inputs: one of imagenet_versions()
};

// "idx", "cifar10" or "npz"; InputError describing what was tried when none fits.
std::string detect_source_format(const std::string& path);

DatasetArrays import_dataset(const std::vector<std::string>& inputs, const ImportOptions& options = {});
inline DatasetArrays import_dataset(const std::string& input, const ImportOptions& options = {}) {
  return import_dataset(std::vector<std::string>{input}, options);
}

}  // namespace switchdiff::io
