// Untrusted header fields in every reader (src/io/checked_size.h): IDX extents and .npy shapes whose product
// overflows int64, extents larger than the file, 20-digit shape entries, bytes after a gzip stream, datasets of
// zero images, HDF5 chunk layouts no library writes, reference covariances that are not symmetric positive
// semi-definite, and PNG destinations.
// Each is a clear InputError/ConfigError (exit 1), never undefined behaviour, std::bad_alloc or a bare "stoll".
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>

#include "io/dataset_file.h"
#include "io/dataset_import.h"
#include "io/idx_file.h"
#include "io/npz_reader.h"
#include "io/png_grid.h"
#include "io/raw_file.h"
#include "io/reference_stats.h"
#include "io_test_support.h"

namespace switchdiff::io {
namespace {

using test::error_message;

std::string idx_header(uint8_t dims, const std::vector<uint32_t>& extents) {
  std::string bytes = {0, 0, 0x08, static_cast<char>(dims)};
  for (uint32_t v : extents) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>((v >> shift) & 0xff));
  }
  return bytes;
}

std::string gzip_bytes(const std::string& content) {
  uLongf size = compressBound(static_cast<uLong>(content.size())) + 32;
  std::string out(size, '\0');
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(content.data()));
  stream.avail_in = static_cast<uInt>(content.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

// A .npy file with the given header shape text and raw data bytes (uint8).
std::string npy_bytes(const std::string& shape, const std::string& data) {
  std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = "\x93NUMPY\x01";
  bytes.push_back('\0');
  bytes.push_back(static_cast<char>(header.size() & 0xff));
  bytes.push_back(static_cast<char>(header.size() >> 8));
  return bytes + header + data;
}

TEST(ReaderLimits, IdxExtentsThatOverflowOrExceedTheFileAreRefused) {
  // 3 x (2^32 - 1) overflows int64 (the old signed product was undefined behaviour).
  const std::string overflow = idx_header(3, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}) + std::string(10, 'x');
  EXPECT_CONTAINS(error_message<InputError>([&] { parse_idx(overflow, "huge.idx", 3); }), "more than 2^63");
  EXPECT_CONTAINS(error_message<InputError>([&] { parse_idx(overflow, "huge.idx", 3); }), "a corrupt header");
  // 2^48 bytes fits in int64 but not in a 10-byte file.
  const std::string big = idx_header(3, {65536, 65536, 65536}) + std::string(10, 'x');
  EXPECT_CONTAINS(error_message<InputError>([&] { parse_idx(big, "big.idx", 3); }),
                  "65536x65536x65536 = 281474976710656 bytes");
  // Zero images (or zero-sized ones) are not a dataset.
  EXPECT_CONTAINS(error_message<InputError>([&] {
                    parse_idx(idx_header(3, {0, 28, 28}), "zero.idx", 3);
                  }),
                  "at least one image");
  EXPECT_CONTAINS(error_message<InputError>([&] { parse_idx(idx_header(1, {0}), "zero_labels.idx", 1); }), "no labels");
  EXPECT_EQ(parse_idx(idx_header(3, {1, 2, 2}) + "abcd", "ok.idx", 3).data.size(), 4u);
}

TEST(ReaderLimits, GzipTrailingBytesAreAnErrorAndConcatenatedMembersAreRead) {
  const std::string dir = switchdiff::testing::scratch_dir();
  const std::string content = idx_header(3, {2, 2, 2}) + "12345678";
  test::write_bytes(dir + "/ok.gz", gzip_bytes(content));
  EXPECT_EQ(read_raw_file(dir + "/ok.gz").bytes, content);
  // Two members (cat a.gz b.gz): legal gzip, decoded one after the other.
  test::write_bytes(dir + "/two.gz", gzip_bytes(content.substr(0, 9)) + gzip_bytes(content.substr(9)));
  EXPECT_EQ(read_raw_file(dir + "/two.gz").bytes, content);
  // Anything else after the end of the stream: refused, saying where.
  const std::string gz = gzip_bytes(content);
  test::write_bytes(dir + "/trailing.gz", gz + "garbage");
  const std::string message = error_message<InputError>([&] { read_raw_file(dir + "/trailing.gz"); });
  EXPECT_CONTAINS(message,
                  "trailing.gz: 7 bytes after the end of the gzip stream (at byte " + std::to_string(gz.size()) + ")");
  test::write_bytes(dir + "/zeros.gz", gz + std::string(3, '\0'));
  EXPECT_CONTAINS(error_message<InputError>([&] { read_raw_file(dir + "/zeros.gz"); }), "after the end");
  test::write_bytes(dir + "/cut.gz", gz.substr(0, gz.size() - 3));
  EXPECT_CONTAINS(error_message<InputError>([&] { read_raw_file(dir + "/cut.gz"); }), "truncated gzip");
  test::write_bytes(dir + "/cut_second.gz", gz + gz.substr(0, 5));
  EXPECT_CONTAINS(error_message<InputError>([&] { read_raw_file(dir + "/cut_second.gz"); }), "truncated gzip");
}

TEST(ReaderLimits, NpyShapesThatOverflowOrDoNotParseAreRefused) {
  // (2^62, 12) uint8: the product 3 * 2^64 wrapped to 0 bytes and matched an empty payload before.
  EXPECT_CONTAINS(error_message<InputError>([&] { parse_npy(npy_bytes("(4611686018427387904, 12)", ""), "wrap.npy"); }),
                  "more than 2^63 elements");
  // A 20-digit extent: std::stoll threw a bare "stoll" (exit 2).
  EXPECT_CONTAINS(
      error_message<InputError>([&] { parse_npy(npy_bytes("(99999999999999999999, 3072)", ""), "huge.npy"); }),
      "extent beyond 2^63 - 1");
  // In range but larger than the file.
  EXPECT_CONTAINS(error_message<InputError>([&] { parse_npy(npy_bytes("(1000000, 1000000)", "ab"), "big.npy"); }),
                  "needs 1000000000000 data bytes, the file has 2 (truncated)");
  EXPECT_CONTAINS(error_message<InputError>([&] { parse_npy(npy_bytes("5", ""), "notuple.npy"); }), "not a tuple");
  EXPECT_CONTAINS(error_message<InputError>([&] { parse_npy(npy_bytes("(-1, 2)", ""), "negative.npy"); }),
                  "non-negative");
  EXPECT_EQ(parse_npy(npy_bytes("(2, 2)", "abcd"), "ok.npy").num_elements(), 4);
}

TEST(ReaderLimits, ZeroImageDatasetsAreNeitherWrittenNorRead) {
  const std::string dir = switchdiff::testing::scratch_dir();
  DatasetArrays empty;
  empty.image = ImageShape{1, 4, 4};
  EXPECT_CONTAINS(error_message<InputError>([&] { write_dataset_file(dir + "/empty.h5", empty); }),
                  "at least one image");
  EXPECT_FALSE(std::filesystem::exists(dir + "/empty.h5"));
  test::run_python_script(dir, "tests/io/py/write_zero_image_datasets.py");
  EXPECT_CONTAINS(error_message<InputError>([&] { DatasetReader reader(dir + "/zero.h5"); }), "no images");
  EXPECT_CONTAINS(error_message<InputError>([&] { read_dataset_info(dir + "/flat.h5"); }), "empty");
  const ImportOptions imagenet{std::nullopt, std::string("new")};
  EXPECT_CONTAINS(error_message<InputError>([&] { import_dataset(dir + "/zero.npz", imagenet); }), "no images");
  EXPECT_CONTAINS(error_message<InputError>([&] { import_dataset(dir + "/zero_side.npz", imagenet); }), "no images");
}

TEST(ReaderLimits, DamagedHdf5LayoutsAreRefusedBeforeAnyRead) {
  const std::string dir = switchdiff::testing::scratch_dir();
  test::run_python_script(dir, "tests/io/py/write_damaged_chunk_layout.py");
  // The undamaged file reads back exactly: pixel i is i mod 251.
  const at::Tensor pixels = DatasetReader(dir + "/chunked.h5").read_images_tensor(0, 5).reshape(-1).to(at::kLong);
  EXPECT_TRUE(pixels.equal(at::remainder(at::arange(5 * 64, at::kLong), 251)));
  const DatasetReader damaged(dir + "/bad_chunk.h5");  // opening reads only the shape
  EXPECT_CONTAINS(error_message<InputError>([&] { damaged.read_images_tensor(0, 5); }),
                  "chunk shape [2, 1, 177, 8] does not fit its shape [5, 1, 8, 8]");
}

TEST(ReaderLimits, ReferenceCovarianceMustBeSymmetricPositiveSemiDefinite) {
  const std::string dir = switchdiff::testing::scratch_dir();
  test::run_python_script(dir, "tests/io/py/write_reference_covariances.py");
  for (const char* ok : {"psd.npz", "psd32.npz", "psd.h5"}) {
    SCOPED_TRACE(ok);
    EXPECT_EQ(read_feature_statistics(dir + "/" + ok).feature_dim(), 8);
  }
  const auto message = [&](const std::string& name) {
    return error_message<InputError>([&] { read_feature_statistics(dir + "/" + name); });
  };
  EXPECT_CONTAINS(message("indefinite.npz"), "not positive semi-definite: smallest eigenvalue");
  EXPECT_CONTAINS(message("indefinite.npz"), "checked: finite, symmetric, positive semi-definite");
  EXPECT_CONTAINS(message("indefinite.h5"), "indefinite.h5: sigma is not a covariance matrix");
  EXPECT_CONTAINS(message("asymmetric.npz"), "not symmetric");
  EXPECT_CONTAINS(message("negative_variance.npz"), "a variance (diagonal entry) is -1");
}

TEST(ReaderLimits, PngDestinationMustBeNewAndInAnExistingFolder) {
  const std::string dir = switchdiff::testing::scratch_dir();
  test::write_bytes(dir + "/taken.png", "precious");
  EXPECT_CONTAINS(error_message<ConfigError>([&] { check_png_destination(dir + "/taken.png"); }), "never overwritten");
  EXPECT_CONTAINS(
      error_message<ConfigError>([&] { write_png_grid(dir + "/taken.png", std::vector<uint8_t>(4), 1, 1, 2, 2); }),
      "never overwritten");
  EXPECT_EQ(test::read_bytes(dir + "/taken.png"), "precious");
  EXPECT_CONTAINS(error_message<ConfigError>([&] { check_png_destination(dir + "/missing/dir/g.png"); }),
                  "does not exist");
  EXPECT_FALSE(std::filesystem::exists(dir + "/missing"));
  write_png_grid(dir + "/new.png", std::vector<uint8_t>(4, 200), 1, 1, 2, 2);
  EXPECT_GT(std::filesystem::file_size(dir + "/new.png"), 20u);
}

}  // namespace
}  // namespace switchdiff::io
