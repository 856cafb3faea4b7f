// Importers behind `switchdiff prepare` (docs/formats.md#dataset-files): IDX (plain, gzip), CIFAR-10 binary and
// downsampled-ImageNet .npz built in the test, including truncated files, wrong magic numbers and mismatched
// shapes, each with a clear InputError/ConfigError.
#include <gtest/gtest.h>
#include <zlib.h>

#include "io/dataset_import.h"
#include "io/idx_file.h"
#include "io_test_support.h"

namespace switchdiff::io {
namespace {

using test::error_message;

std::string idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
  std::string bytes;
  auto put = [&](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>((v >> shift) & 0xff));
  };
  put(magic);
  for (uint32_t d : dims) put(d);
  bytes.append(data.begin(), data.end());
  return bytes;
}

void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(gz), Z_OK);
}

std::vector<uint8_t> pattern(size_t n, int seed) {
  std::vector<uint8_t> values(n);
  for (size_t i = 0; i < n; ++i)
    values[i] = static_cast<uint8_t>((i * 131 + static_cast<size_t>(seed) * 17 + i / 3) % 256);
  return values;
}

class IdxImport : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = switchdiff::testing::scratch_dir();
    pixels_ = pattern(5 * 3 * 4, 1);
    labels_ = {9, 0, 3, 3, 7};
    images_ = idx_bytes(0x00000803, {5, 3, 4}, pixels_);
    label_file_ = idx_bytes(0x00000801, {5}, labels_);
  }
  std::string dir_;
  std::vector<uint8_t> pixels_, labels_;
  std::string images_, label_file_;
};

TEST_F(IdxImport, ReadsPlainAndGzipImagesWithLabels) {
  test::write_bytes(dir_ + "/images-idx3-ubyte", images_);
  test::write_bytes(dir_ + "/labels-idx1-ubyte", label_file_);
  write_gzip(dir_ + "/images.gz", images_);
  write_gzip(dir_ + "/labels.gz", label_file_);
  for (const auto& [images, labels, format] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"images-idx3-ubyte", "labels-idx1-ubyte", "idx"}, {"images.gz", "labels.gz", "idx.gz"}}) {
    SCOPED_TRACE(format);
    EXPECT_EQ(detect_source_format(dir_ + "/" + images), "idx");
    const DatasetArrays arrays = import_dataset(dir_ + "/" + images, ImportOptions{dir_ + "/" + labels, {}});
    EXPECT_EQ(arrays.num_images, 5);
    EXPECT_EQ(arrays.image, (ImageShape{1, 3, 4}));
    EXPECT_EQ(arrays.images, pixels_);
    ASSERT_TRUE(arrays.labels.has_value());
    EXPECT_EQ(*arrays.labels, std::vector<int64_t>(labels_.begin(), labels_.end()));
    EXPECT_EQ(arrays.attributes.at("source_format"), format);
  }
  EXPECT_FALSE(import_dataset(dir_ + "/images.gz").labels.has_value()) << "labels are optional";
}

TEST_F(IdxImport, RejectsWrongMagicNumbersAndSwappedFiles) {
  test::write_bytes(dir_ + "/signed", idx_bytes(0x00000903, {5, 3, 4}, pixels_));
  EXPECT_CONTAINS(error_message<InputError>([&] { import_dataset(dir_ + "/signed"); }),
                  "IDX element type 0x09 (signed byte) is not supported");
  test::write_bytes(dir_ + "/garbage", idx_bytes(0x12345678, {5, 3, 4}, pixels_));
  EXPECT_CONTAINS(error_message<InputError>([&] { read_idx_file(dir_ + "/garbage", 3); }),
                  "wrong magic number 0x12345678; expected IDX images (magic 0x00000803)");
  EXPECT_CONTAINS(error_message<InputError>([&] { import_dataset(dir_ + "/garbage"); }), "unrecognised format");
  test::write_bytes(dir_ + "/labels", label_file_);
  test::write_bytes(dir_ + "/images", images_);
  EXPECT_CONTAINS(error_message<InputError>([&] { import_dataset(dir_ + "/labels"); }),
                  "this is an IDX labels file (magic 0x00000801); pass it with --labels");
  EXPECT_CONTAINS(error_message<InputError>([&] {
                    import_dataset(dir_ + "/images", ImportOptions{dir_ + "/images", {}});
                  }),
                  "this is an IDX images file (magic 0x00000803); pass it with --input");
  test::write_bytes(dir_ + "/four_d", idx_bytes(0x00000804, {5, 3, 2, 2}, pixels_));
  EXPECT_CONTAINS(error_message<InputError>([&] { import_dataset(dir_ + "/four_d"); }), "with 4 dimensions");
}

TEST_F(IdxImport, RejectsTruncatedFilesAndCountMismatches) {
  test::write_bytes(dir_ + "/short", images_.substr(0, images_.size() - 10));
  EXPECT_CONTAINS(error_message<InputError>([&] { import_dataset(dir_ + "/short"); }),
                  "declares 5x3x4 = 60 bytes of data after 16 header bytes, the file has 50 (truncated)");
  test::write_bytes(dir_ + "/long", images_ + "xx");
  EXPECT_CONTAINS(error_message<InputError>([&] { import_dataset(dir_ + "/long"); }), "extra bytes at the end");
  test::write_bytes(dir_ + "/header_only", images_.substr(0, 10));
  EXPECT_CONTAINS(error_message<InputError>([&] { import_dataset(dir_ + "/header_only"); }), "truncated IDX header");

  // A gzip file cut short: zlib sees the stream end early.
  std::string big_pixels;
  const std::vector<uint8_t> many = pattern(200 * 28 * 28, 2);
  write_gzip(dir_ + "/full.gz", idx_bytes(0x00000803, {200, 28, 28}, many));
  const std::string gz = test::read_bytes(dir_ + "/full.gz");
  test::write_bytes(dir_ + "/cut.gz", gz.substr(0, gz.size() / 2));
  EXPECT_CONTAINS(error_message<InputError>([&] { import_dataset(dir_ + "/cut.gz"); }), "gzip");

  test::write_bytes(dir_ + "/images", images_);
  test::write_bytes(dir_ + "/four_labels", idx_bytes(0x00000801, {4}, {1, 2, 3, 4}));
  EXPECT_CONTAINS(error_message<InputError>([&] {
                    import_dataset(dir_ + "/images", ImportOptions{dir_ + "/four_labels", {}});
                  }),
                  "four_labels: 4 labels, but " + dir_ + "/images has 5 images");
}

std::string cifar_records(const std::vector<uint8_t>& labels, int seed) {
  std::string bytes;
  for (size_t i = 0; i < labels.size(); ++i) {
    bytes.push_back(static_cast<char>(labels[i]));
    const std::vector<uint8_t> pixels = pattern(3072, seed + static_cast<int>(i));
    bytes.append(pixels.begin(), pixels.end());
  }
  return bytes;
}

TEST(CifarImport, ReadsAndConcatenatesBatchesInChannelPlaneOrder) {
  const std::string dir = switchdiff::testing::scratch_dir();
  test::write_bytes(dir + "/data_batch_1.bin", cifar_records({0, 1, 2, 9}, 10));
  test::write_bytes(dir + "/data_batch_2.bin", cifar_records({5, 6, 7}, 20));
  EXPECT_EQ(detect_source_format(dir + "/data_batch_1.bin"), "cifar10");
  const DatasetArrays arrays = import_dataset({dir + "/data_batch_1.bin", dir + "/data_batch_2.bin"});
  EXPECT_EQ(arrays.num_images, 7);
  EXPECT_EQ(arrays.image, (ImageShape{3, 32, 32}));
  EXPECT_EQ(*arrays.labels, (std::vector<int64_t>{0, 1, 2, 9, 5, 6, 7}));
  // Image 5 (second file, record 1): pixel (c=2, h=31, w=0) is byte 1 + 2*1024 + 31*32 + 0 of its record.
  const std::vector<uint8_t> record = pattern(3072, 21);
  EXPECT_EQ(arrays.images[5 * 3072 + 2 * 1024 + 31 * 32], record[2 * 1024 + 31 * 32]);
  EXPECT_EQ(std::vector<uint8_t>(arrays.images.begin() + 5 * 3072, arrays.images.begin() + 6 * 3072), record);
  EXPECT_EQ(arrays.attributes.at("source_format"), "cifar10-binary");
}

TEST(CifarImport, RejectsTruncatedBatchesBadLabelsAndExtraLabelFiles) {
  const std::string dir = switchdiff::testing::scratch_dir();
  const std::string two = cifar_records({1, 2}, 0);
  test::write_bytes(dir + "/cut.bin", two.substr(0, two.size() - 5));
  EXPECT_CONTAINS(error_message<InputError>([&] { import_dataset(dir + "/cut.bin"); }),
                  "(not a multiple of 3073: a truncated CIFAR-10 batch?)");
  test::write_bytes(dir + "/bad_label.bin", cifar_records({1, 12}, 0));
  EXPECT_CONTAINS(error_message<InputError>([&] { import_dataset(dir + "/bad_label.bin"); }),
                  "record 1 has label byte 12, CIFAR-10 labels are 0..9");
  test::write_bytes(dir + "/ok.bin", two);
  EXPECT_CONTAINS(error_message<InputError>([&] {
                    import_dataset(dir + "/ok.bin", ImportOptions{dir + "/x", {}});
                  }),
                  "carry their own labels; drop --labels");
  test::write_bytes(dir + "/images", idx_bytes(0x00000803, {1, 2, 2}, {1, 2, 3, 4}));
  EXPECT_CONTAINS(error_message<InputError>([&] {
                    import_dataset({dir + "/ok.bin", dir + "/images"});
                  }),
                  "must share one format");
  test::run_python_script(dir, "tests/io/py/write_cifar_tarball.py");
  EXPECT_CONTAINS(error_message<InputError>([&] { import_dataset(dir + "/cifar-10-binary.tar.gz"); }),
                  "extract it first");
}

TEST(ImagenetImport, ReadsFlatAndChannelsLastNpzAndRecordsTheRelease) {
  const std::string dir = switchdiff::testing::scratch_dir();
  test::run_python_script(dir, "tests/io/py/write_imagenet_npz.py");
  const std::string expected = test::read_bytes(dir + "/nchw.bin");
  for (const char* name : {"flat.npz", "nhwc.npz"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(detect_source_format(dir + "/" + name), "npz");
    const DatasetArrays arrays = import_dataset(dir + "/" + name, ImportOptions{{}, "new"});
    EXPECT_EQ(arrays.image, (ImageShape{3, 32, 32}));
    EXPECT_EQ(std::string(arrays.images.begin(), arrays.images.end()), expected);
    EXPECT_EQ(*arrays.labels, (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(arrays.attributes.at("imagenet_version"), "new");
    EXPECT_CONTAINS(arrays.attributes.at("imagenet_version_note"), "Chrabaszcz");
  }
  const std::string no_version = error_message<ConfigError>([&] { import_dataset(dir + "/flat.npz"); });
  EXPECT_CONTAINS(no_version, "--imagenet-version old|new|unknown (got nothing)");
  EXPECT_CONTAINS(no_version, "0.26");
  EXPECT_THROW(import_dataset(dir + "/flat.npz", ImportOptions{{}, "2017"}), ConfigError);
  const ImportOptions old{{}, "old"};
  EXPECT_CONTAINS(error_message<InputError>([&] { import_dataset(dir + "/float.npz", old); }),
                  "expected uint8 pixels, found float64 (6, 3072)");
  EXPECT_CONTAINS(error_message<InputError>([&] { import_dataset(dir + "/odd.npz", old); }),
                  "'data' has shape (6, 3000)");
  EXPECT_CONTAINS(error_message<InputError>([&] { import_dataset(dir + "/short_labels.npz", old); }),
                  "'labels' has shape (5,), expected (6,)");
  EXPECT_CONTAINS(error_message<InputError>([&] { import_dataset(dir + "/no_data.npz", old); }),
                  "no array 'data' in the archive; it holds: x");
}

}  // namespace
}  // namespace switchdiff::io
