// H5File: typed round trips, row ranges, extendable datasets, attributes, errors; files cross-checked with h5py.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "io/h5_file.h"
#include "io_test_support.h"

namespace switchdiff::io {
namespace {

using test::error_message;
using test::run_python_script;

TEST(H5File, RoundTripsEveryElementTypeAndShape) {
  const std::string dir = switchdiff::testing::scratch_dir();
  const std::string path = dir + "/types.h5";
  const std::vector<uint8_t> bytes = {0, 1, 127, 128, 254, 255};
  const std::vector<int64_t> longs = {std::numeric_limits<int64_t>::min(), -1, 0, 1, int64_t{1} << 53,
                                      std::numeric_limits<int64_t>::max()};
  const std::vector<double> doubles = {0.1,           -1.0 / 3.0,   1e-300,
                                       6.02214076e23, std::nan(""), std::numeric_limits<double>::infinity()};
  const std::vector<float> floats = {0.1f, -2.5f, 3.4e38f, 1e-45f, 0.0f, -0.0f};
  const std::vector<int32_t> ints = {-7, 0, 7, 2147483647, -2147483647 - 1, 42};
  {
    H5File file = H5File::create(path);
    file.write<uint8_t>("/u8", {2, 3}, bytes.data());
    file.write<int64_t>("/group/deeper/i64", {3, 1, 2}, longs.data());
    file.write<double>("/f64", doubles);
    file.write<float>("/f32", {6}, floats.data(), DatasetOptions{2, 4, false});  // chunked + gzip
    file.write<int32_t>("/i32", ints);
    const double scalar = 2.75;
    file.write<double>("/scalar", {}, &scalar);
    file.write<double>("/empty", {0, 4}, nullptr);
    file.close();
  }
  const H5File file = H5File::open_input(path);
  EXPECT_EQ(file.read<uint8_t>("/u8"), bytes);
  EXPECT_EQ(file.read<int64_t>("/group/deeper/i64"), longs);
  const std::vector<double> d = file.read<double>("/f64");
  for (size_t i = 0; i < doubles.size(); ++i) {
    if (std::isnan(doubles[i])) {
      EXPECT_TRUE(std::isnan(d[i]));
    } else {
      EXPECT_EQ(d[i], doubles[i]);
    }
  }
  const std::vector<float> f = file.read<float>("/f32");
  ASSERT_EQ(f.size(), floats.size());
  for (size_t i = 0; i < floats.size(); ++i) EXPECT_EQ(std::signbit(f[i]), std::signbit(floats[i])) << i;
  EXPECT_EQ(f, floats);
  EXPECT_EQ(file.read<int32_t>("/i32"), ints);
  EXPECT_EQ(file.read<double>("/scalar"), std::vector<double>{2.75});
  EXPECT_TRUE(file.read<double>("/empty").empty());

  const DatasetInfo info = file.dataset_info("/group/deeper/i64");
  EXPECT_EQ(info.shape, (std::vector<int64_t>{3, 1, 2}));
  EXPECT_EQ(info.type, ElementType::kInt64);
  EXPECT_EQ(file.dataset_info("/f32").type_name, "float32");
  EXPECT_EQ(file.dataset_info("/empty").shape, (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(file.dataset_info("/scalar").shape, std::vector<int64_t>{});
  // HDF5 converts on read: int32 -> double.
  EXPECT_EQ(file.read<double>("/i32")[3], 2147483647.0);

  EXPECT_TRUE(file.exists("/group/deeper"));
  EXPECT_TRUE(file.is_group("/group/deeper"));
  EXPECT_FALSE(file.is_group("/u8"));
  EXPECT_TRUE(file.is_dataset("/u8"));
  EXPECT_FALSE(file.exists("/missing/intermediate/x")) << "no throw for a missing intermediate group";
  EXPECT_EQ(file.children("/"), (std::vector<std::string>{"empty", "f32", "f64", "group", "i32", "scalar", "u8"}));

  // Cross-check with h5py: the values and dtypes another program sees.
  run_python_script(dir, "tests/io/py/check_h5_types.py");
}

TEST(H5File, ReadsAndWritesRowRangesAndAppendsToExtendableDatasets) {
  const std::string path = switchdiff::testing::scratch_dir() + "/rows.h5";
  H5File file = H5File::create(path);
  std::vector<double> values(5 * 3);
  for (size_t i = 0; i < values.size(); ++i) values[i] = 0.5 * static_cast<double>(i);
  file.write<double>("/table", {5, 3}, values.data());
  std::vector<double> rows(2 * 3);
  file.read_rows<double>("/table", 2, 4, rows.data());
  EXPECT_EQ(rows, std::vector<double>(values.begin() + 6, values.begin() + 12));
  const std::vector<double> replacement = {-1, -2, -3};
  file.write_rows<double>("/table", 4, 1, replacement.data());
  EXPECT_EQ(file.read<double>("/table")[13], -2);
  EXPECT_CONTAINS(error_message<IoError>([&] { file.read_rows<double>("/table", 4, 6, rows.data()); }),
                  "rows [4, 6) out of range: the dataset has 5 rows");

  file.create_extendable<int64_t>("/log/seeds", {2}, DatasetOptions{3, 0, false});
  EXPECT_TRUE(file.dataset_info("/log/seeds").extendable);
  const std::vector<int64_t> first = {1, 2, 3, 4};
  const std::vector<int64_t> second = {5, 6, 7, 8, 9, 10};
  file.append_rows<int64_t>("/log/seeds", 2, first.data());
  file.append_rows<int64_t>("/log/seeds", 3, second.data());
  file.append_rows<int64_t>("/log/seeds", 0, nullptr);
  EXPECT_EQ(file.dataset_info("/log/seeds").shape, (std::vector<int64_t>{5, 2}));
  EXPECT_EQ(file.read<int64_t>("/log/seeds"), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_THROW(file.append_rows<int64_t>("/table", 1, first.data()), IoError) << "not extendable";
}

TEST(H5File, StoresStringAndNumericAttributes) {
  const std::string dir = switchdiff::testing::scratch_dir();
  const std::string path = dir + "/attributes.h5";
  std::string config(200000, 'x');  // larger than HDF5's 64 KiB compact attribute limit
  config += "\n[sampler]\nsteps = 18 \xe2\x80\x94 \xcf\x83";
  {
    H5File file = H5File::create(path);
    file.set_string_attribute("/", "config", config);
    file.set_string_attribute("/", "empty", "");
    file.set_double_attribute("/", "seed_scale", 0.1);
    file.set_int_attribute("/", "world_size", 3);
    file.write<double>("/sweep/fid", std::vector<double>{1.5});
    file.set_string_attribute("/sweep/fid", "unit", "FID");
    file.set_int_attribute("/experts/quality", "channels", -4);  // creates the group
    file.set_int_attribute("/", "world_size", 4);                // replaces
    file.close();
  }
  const H5File file = H5File::open_input(path);
  EXPECT_EQ(file.string_attribute("/", "config"), config);
  EXPECT_EQ(file.string_attribute("/", "empty"), "");
  EXPECT_EQ(file.double_attribute("/", "seed_scale"), 0.1);
  EXPECT_EQ(file.int_attribute("/", "world_size"), 4);
  EXPECT_EQ(file.double_attribute("/", "world_size"), 4.0);
  EXPECT_EQ(file.string_attribute("/sweep/fid", "unit"), "FID");
  EXPECT_EQ(file.int_attribute("/experts/quality", "channels"), -4);
  EXPECT_EQ(file.attribute_names("/"), (std::vector<std::string>{"config", "empty", "seed_scale", "world_size"}));
  EXPECT_TRUE(file.has_attribute("/sweep/fid", "unit"));
  EXPECT_FALSE(file.has_attribute("/nowhere", "unit"));
  EXPECT_CONTAINS(error_message<InputError>([&] { file.int_attribute("/", "seed_scale"); }),
                  "stored as float64, expected an integer");
  EXPECT_CONTAINS(error_message<InputError>([&] { file.double_attribute("/", "config"); }), "expected a number");
  EXPECT_CONTAINS(error_message<InputError>([&] { file.string_attribute("/", "nope"); }), "no such attribute");

  run_python_script(dir, "tests/io/py/check_h5_attributes.py");
  const H5File other = H5File::open_input(dir + "/from_h5py.h5");
  EXPECT_EQ(other.string_attribute("/", "fixed"), "inception-2015-12-05");
  EXPECT_EQ(other.string_attribute("/", "vlen"), "sha:abc");
  EXPECT_EQ(other.int_attribute("/", "count"), 7);
  EXPECT_EQ(other.dataset_info("/data").type_name, "int32");
  EXPECT_EQ(other.read<int64_t>("/data"), (std::vector<int64_t>{0, 1, 2, 3, 4, 5})) << "big-endian converted";
  EXPECT_CONTAINS(error_message<InputError>([&] { other.read<double>("/text"); }), "stored as string");
}

TEST(H5File, RefusesToOverwriteFilesAndDatasets) {
  const std::string path = switchdiff::testing::scratch_dir() + "/results/nested/out.h5";
  {
    H5File file = H5File::create(path);  // creates the folders
    file.write<double>("/x", std::vector<double>{1, 2});
    EXPECT_CONTAINS(error_message<IoError>([&] { file.write<double>("/x", std::vector<double>{3}); }),
                    "refusing to overwrite");
    file.write<double>("/x", std::vector<double>{3}, DatasetOptions{0, 0, true});
    EXPECT_EQ(file.read<double>("/x"), std::vector<double>{3});
  }
  EXPECT_CONTAINS(error_message<ConfigError>([&] { H5File::create(path); }), "already exists");
  { H5File::create(path, /*overwrite=*/true); }
  EXPECT_FALSE(H5File::open(path, false).exists("/x")) << "truncated on overwrite";
  H5File read_only = H5File::open(path, false);
  EXPECT_CONTAINS(error_message<IoError>([&] { read_only.write<double>("/y", std::vector<double>{1}); }), "read-only");
}

TEST(H5File, ExplainsMissingCorruptAndTruncatedInputs) {
  const std::string dir = switchdiff::testing::scratch_dir();
  EXPECT_CONTAINS(error_message<InputError>([&] { H5File::open_input(dir + "/absent.h5"); }), "no such file");
  test::write_bytes(dir + "/text.h5", "this is not HDF5\n");
  const std::string not_hdf5 = error_message<InputError>([&] { H5File::open_input(dir + "/text.h5"); });
  EXPECT_CONTAINS(not_hdf5, "text.h5: cannot open as HDF5");
  EXPECT_CONTAINS(not_hdf5, "signature");  // HDF5's own reason is passed on

  // A real file cut in half: the header opens or not, but the data must not be read silently.
  {
    H5File file = H5File::create(dir + "/whole.h5");
    std::vector<double> big(100000, 1.25);
    file.write<double>("/big", big);
  }
  const std::string whole = test::read_bytes(dir + "/whole.h5");
  test::write_bytes(dir + "/cut.h5", whole.substr(0, whole.size() / 2));
  const std::string cut_message = error_message<InputError>([&] {
    const H5File cut = H5File::open_input(dir + "/cut.h5");
    cut.read<double>("/big");
  });
  EXPECT_CONTAINS(cut_message, "truncated");
  // HDF5's truncation message mentions the superblock ("sblock"): no advice about file locks there.
  EXPECT_TRUE(cut_message.find("HDF5_USE_FILE_LOCKING") == std::string::npos) << cut_message;
  const H5File ok = H5File::open_input(dir + "/whole.h5");
  EXPECT_CONTAINS(error_message<InputError>([&] { ok.dataset_info("/nope"); }), "whole.h5:/nope: open dataset failed");
}

}  // namespace
}  // namespace switchdiff::io
