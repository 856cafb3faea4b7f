// The prepared Fashion-MNIST file holds exactly the IDX source's pixels and labels: SHA-256 of the
// gunzipped IDX payload (after the 16- and 8-byte headers) == SHA-256 of /images and /labels read by h5py.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/dataset_file.h"
#include "io/dataset_import.h"
#include "io_test_support.h"

namespace switchdiff::io {
namespace {

constexpr const char* kSource = "/usr/share/datasets/fashion-mnist";

TEST(FashionMnist, PreparedImagesHaveTheSourcePixelsSha256) {
  for (const char* split : {"t10k", "train"}) {
    SCOPED_TRACE(split);
    const std::string images = fmt::format("{}/{}-images-idx3-ubyte.gz", kSource, split);
    const std::string labels = fmt::format("{}/{}-labels-idx1-ubyte.gz", kSource, split);
    if (!std::filesystem::exists(images)) GTEST_SKIP() << images << " missing: apt-get install dataset-fashion-mnist";
    const std::string dir = switchdiff::testing::scratch_dir();
    const std::string out = dir + "/" + split + ".h5";
    const DatasetArrays arrays = import_dataset(images, ImportOptions{labels, {}});
    ASSERT_EQ(arrays.num_images, std::string(split) == "train" ? 60000 : 10000);
    write_dataset_file(out, arrays);
    const std::string output =
        test::run_python_script(dir, "tests/io/py/check_fashion_mnist_sha256.py", {images, labels, out});
    std::cout << output;
  }
}

}  // namespace
}  // namespace switchdiff::io
