// .npy / .npz reader against files numpy writes in the test: every dtype and order read exactly (compared with
// numpy's own float64 C-order bytes), and corrupt, truncated and unsupported files rejected with clear errors.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstring>

#include "io/npz_reader.h"
#include "io_test_support.h"

namespace switchdiff::io {
namespace {

using test::error_message;

// numpy writes <name>.npy and <name>.f64 (its values as little-endian float64 in C order) for every case.
constexpr const char* kWriteArrays = "tests/io/py/write_npy_arrays.py";

void expect_exact(const NpyArray& array, const std::string& expected_f64_bytes) {
  const std::vector<double> values = array.to_float64();
  ASSERT_EQ(values.size() * sizeof(double), expected_f64_bytes.size()) << array.source;
  // memcmp with a null pointer is undefined even for 0 bytes (UBSan, tools/sanitize.sh): the empty case has none.
  if (values.empty()) return;
  EXPECT_EQ(std::memcmp(values.data(), expected_f64_bytes.data(), expected_f64_bytes.size()), 0) << array.source;
}

TEST(NpyReader, ReadsEveryDtypeAndOrderNumpyWritesExactly) {
  const std::string dir = switchdiff::testing::scratch_dir();
  test::run_python_script(dir, kWriteArrays);
  for (const char* name : {"f8_c", "f8_fortran", "f8_big_endian", "f4_c", "f4_fortran", "u1", "u1_fortran", "i8",
                           "i4_big", "bool", "scalar", "empty"}) {
    SCOPED_TRACE(name);
    const NpyArray array = read_npy_file(dir + "/" + name + ".npy");
    expect_exact(array, test::read_bytes(dir + "/" + name + ".f64"));
  }
  const NpyArray fortran = read_npy_file(dir + "/f8_fortran.npy");
  EXPECT_TRUE(fortran.fortran_order_in_file);
  EXPECT_EQ(fortran.shape, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(fortran.descr, "<f8");
  EXPECT_EQ(read_npy_file(dir + "/f8_big_endian.npy").descr, ">f8");
  EXPECT_EQ(read_npy_file(dir + "/scalar.npy").shape, std::vector<int64_t>{});
  EXPECT_EQ(read_npy_file(dir + "/u1.npy").uint8_data()[257], 1);
  EXPECT_EQ(read_npy_file(dir + "/i8.npy").to_int64()[4], (int64_t{1} << 53) + 1) << "int64 beyond 2^53 exact";
  EXPECT_EQ(read_npy_file(dir + "/i4_big.npy").to_int64(), (std::vector<int64_t>{-5, 6, 7, -8}));

  const at::Tensor t = read_npy_file(dir + "/f4_fortran.npy").to_tensor();
  EXPECT_EQ(t.scalar_type(), at::kFloat);
  EXPECT_EQ(t.sizes(), at::IntArrayRef({2, 3, 4}));
  EXPECT_EQ(t[1][2][3].item<float>(), static_cast<float>(23 / 3.0 + std::sqrt(2.0)));
  EXPECT_EQ(read_npy_file(dir + "/u1.npy").to_tensor().scalar_type(), at::kByte);
}

TEST(NpzArchive, ReadsStoredAndDeflatedArchives) {
  const std::string dir = switchdiff::testing::scratch_dir();
  test::run_python_script(dir, kWriteArrays);
  for (const char* name : {"plain.npz", "compressed.npz"}) {
    SCOPED_TRACE(name);
    const NpzArchive archive(dir + "/" + name);
    EXPECT_EQ(archive.keys(), (std::vector<std::string>{"mu", "sigma", "labels"}));
    EXPECT_TRUE(archive.contains("sigma"));
    EXPECT_FALSE(archive.contains("sigma.npy.npy"));
    expect_exact(archive.read("mu"), test::read_bytes(dir + "/npz_mu.f64"));
    expect_exact(archive.read("sigma"), test::read_bytes(dir + "/npz_sigma.f64"));
    EXPECT_EQ(archive.read("labels").to_int64(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
    const std::string missing = error_message<InputError>([&] { archive.read("fid_features"); });
    EXPECT_CONTAINS(missing, "no array 'fid_features'");
    EXPECT_CONTAINS(missing, "it holds: mu, sigma, labels");
  }
}

TEST(NpzArchive, RejectsTruncatedAndCorruptFiles) {
  const std::string dir = switchdiff::testing::scratch_dir();
  test::run_python_script(dir, kWriteArrays);
  const std::string npy = test::read_bytes(dir + "/f8_c.npy");
  test::write_bytes(dir + "/cut.npy", npy.substr(0, npy.size() - 8));
  EXPECT_CONTAINS(error_message<InputError>([&] { read_npy_file(dir + "/cut.npy"); }),
                  "needs 192 data bytes, the file has 184 (truncated)");
  test::write_bytes(dir + "/header_cut.npy", npy.substr(0, 40));
  EXPECT_CONTAINS(error_message<InputError>([&] { read_npy_file(dir + "/header_cut.npy"); }), "truncated");
  test::write_bytes(dir + "/not.npy", "hello world, not numpy");
  EXPECT_CONTAINS(error_message<InputError>([&] { read_npy_file(dir + "/not.npy"); }), "not a .npy array");

  for (const char* name : {"plain.npz", "compressed.npz"}) {
    SCOPED_TRACE(name);
    const std::string zip = test::read_bytes(dir + "/" + name);
    // Cut: the central directory at the end is gone.
    test::write_bytes(dir + "/cut.npz", zip.substr(0, zip.size() * 2 / 3));
    EXPECT_CONTAINS(error_message<InputError>([&] { NpzArchive archive(dir + "/cut.npz"); }),
                    "not a readable .npz (zip) archive");
    // Flipped bytes inside the first member's data: CRC (stored) or inflate (deflated) must catch it.
    std::string corrupt = zip;
    for (size_t i = 140; i < 150; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
    test::write_bytes(dir + "/corrupt.npz", corrupt);
    EXPECT_THROW(
        {
          const NpzArchive archive(dir + "/corrupt.npz");
          archive.read("mu");
        },
        InputError);
  }
  EXPECT_CONTAINS(error_message<InputError>([&] { NpzArchive archive(dir + "/absent.npz"); }), "no such file");
}

TEST(NpyReader, RejectsUnsupportedDtypesNamingThem) {
  const std::string dir = switchdiff::testing::scratch_dir();
  test::run_python_script(dir, "tests/io/py/write_unsupported_npy.py");
  EXPECT_CONTAINS(error_message<InputError>([&] { read_npy_file(dir + "/complex.npy"); }), "dtype '<c16'");
  EXPECT_CONTAINS(error_message<InputError>([&] { read_npy_file(dir + "/object.npy"); }), "object arrays");
  EXPECT_CONTAINS(error_message<InputError>([&] { read_npy_file(dir + "/structured.npy"); }), "structured dtype");
  EXPECT_CONTAINS(error_message<InputError>([&] { read_npy_file(dir + "/half.npy"); }), "dtype '<f2'");
  const NpyArray floats = read_npy_file(dir + "/floats.npy");
  EXPECT_CONTAINS(error_message<InputError>([&] { floats.uint8_data(); }), "expected uint8 pixels, found float64 (2,)");
  EXPECT_CONTAINS(error_message<InputError>([&] { floats.to_int64(); }), "expected integers, found float64");
}

}  // namespace
}  // namespace switchdiff::io
