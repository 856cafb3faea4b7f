// Dataset files (docs/formats.md): round trip, range reads without loading the whole file, h5py's view of the file,
// and clear errors for files that are not datasets.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "io/dataset_file.h"
#include "io_test_support.h"

namespace switchdiff::io {
namespace {

using test::error_message;

DatasetArrays small_dataset(int64_t n) {
  DatasetArrays arrays;
  arrays.num_images = n;
  arrays.image = ImageShape{3, 4, 5};
  for (int64_t i = 0; i < n * 60; ++i) arrays.images.push_back(static_cast<uint8_t>((i * 37 + i / 7) % 256));
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < n; ++i) labels.push_back(i % 10);
  arrays.labels = labels;
  arrays.attributes["source_format"] = "test";
  return arrays;
}

TEST(DatasetFile, RoundTripsAndReadsRanges) {
  const std::string dir = switchdiff::testing::scratch_dir();
  const std::string path = dir + "/small.h5";
  const DatasetArrays written = small_dataset(11);
  write_dataset_file(path, written);
  EXPECT_FALSE(std::filesystem::exists(path + ".partial"));

  const DatasetFileInfo info = read_dataset_info(path);
  EXPECT_EQ(info.num_images, 11);
  EXPECT_EQ(info.image, (ImageShape{3, 4, 5}));
  EXPECT_TRUE(info.has_labels);

  const DatasetArrays read = read_dataset_file(path);
  EXPECT_EQ(read.images, written.images);
  EXPECT_EQ(read.labels, written.labels);
  EXPECT_EQ(read.attributes.at("source_format"), "test");

  const DatasetReader reader(path);
  const std::vector<uint8_t> middle = reader.read_images(3, 7);
  EXPECT_EQ(middle, std::vector<uint8_t>(written.images.begin() + 3 * 60, written.images.begin() + 7 * 60));
  const at::Tensor tensor = reader.read_images_tensor(10, 11);
  EXPECT_EQ(tensor.sizes(), at::IntArrayRef({1, 3, 4, 5}));
  EXPECT_EQ(tensor.scalar_type(), at::kByte);
  EXPECT_EQ(tensor[0][2][3][4].item<uint8_t>(), written.images[10 * 60 + 59]);
  EXPECT_EQ(reader.read_labels(9, 11), (std::vector<int64_t>{9, 0}));
  EXPECT_TRUE(reader.read_images(5, 5).empty());
  EXPECT_CONTAINS(error_message<InputError>([&] { reader.read_images(8, 12); }),
                  "images [8, 12) requested, the file has 11");

  test::run_python_script(dir, "tests/io/py/check_small_dataset.py");

  EXPECT_CONTAINS(error_message<ConfigError>([&] { write_dataset_file(path, written); }), "already exists");
  write_dataset_file(path, small_dataset(2), /*overwrite=*/true);
  EXPECT_EQ(read_dataset_info(path).num_images, 2);
}

TEST(DatasetFile, WritesWithoutLabelsAndChecksArraySizes) {
  const std::string dir = switchdiff::testing::scratch_dir();
  DatasetArrays arrays = small_dataset(3);
  arrays.labels.reset();
  write_dataset_file(dir + "/unlabelled.h5", arrays);
  const DatasetReader reader(dir + "/unlabelled.h5");
  EXPECT_FALSE(reader.info().has_labels);
  EXPECT_CONTAINS(error_message<InputError>([&] { reader.read_labels(0, 1); }), "has no /labels");
  arrays.images.pop_back();
  EXPECT_CONTAINS(error_message<InputError>([&] { write_dataset_file(dir + "/bad.h5", arrays); }),
                  "need 180 pixel bytes, got 179");
  arrays = small_dataset(3);
  arrays.labels->push_back(1);
  EXPECT_CONTAINS(error_message<InputError>([&] { write_dataset_file(dir + "/bad.h5", arrays); }),
                  "4 labels for 3 images");
}

TEST(DatasetFile, ExplainsFilesThatAreNotDatasets) {
  const std::string dir = switchdiff::testing::scratch_dir();
  test::run_python_script(dir, "tests/io/py/write_non_datasets.py");
  auto message = [&](const std::string& name) {
    return error_message<InputError>([&] { read_dataset_info(dir + "/" + name); });
  };
  EXPECT_CONTAINS(message("no_images.h5"), "no_images.h5: no /images dataset");
  EXPECT_CONTAINS(message("no_images.h5"), "switchdiff prepare");
  EXPECT_CONTAINS(message("float_images.h5"), "/images is float32, expected uint8");
  EXPECT_CONTAINS(message("rank3.h5"), "shape [2, 28, 28] (3 dimensions), expected 4: [N, C, H, W]");
  EXPECT_CONTAINS(message("bad_labels.h5"), "/labels is int64 [3], expected integers [2]");
  EXPECT_CONTAINS(message("float_labels.h5"), "/labels is float64");
  EXPECT_CONTAINS(message("absent.h5"), "no such file");
  EXPECT_EQ(DatasetReader(dir + "/int32_labels.h5").read_labels(0, 2), (std::vector<int64_t>{3, 4}));
}

}  // namespace
}  // namespace switchdiff::io
