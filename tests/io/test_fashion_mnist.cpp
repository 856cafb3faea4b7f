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
    const std::string output = test::run_python(
        dir, fmt::format(R"(
import gzip, hashlib, h5py, numpy as np
src = hashlib.sha256(gzip.open('{images}', 'rb').read()[16:]).hexdigest()
src_labels = hashlib.sha256(np.frombuffer(gzip.open('{labels}', 'rb').read()[8:], np.uint8).astype('<i8').tobytes()).hexdigest()
with h5py.File('{out}', 'r') as f:
  x = f['images']
  assert x.shape[1:] == (1, 28, 28) and x.dtype == np.uint8, x
  ours = hashlib.sha256(np.ascontiguousarray(x[...]).tobytes()).hexdigest()
  ours_labels = hashlib.sha256(f['labels'][...].astype('<i8').tobytes()).hexdigest()
  assert f.attrs['source_format'] == 'idx.gz'
print('images', src, ours)
print('labels', src_labels, ours_labels)
assert src == ours and src_labels == ours_labels
)",
                         fmt::arg("images", images), fmt::arg("labels", labels), fmt::arg("out", out)));
    std::cout << output;
  }
}

}  // namespace
}  // namespace switchdiff::io
