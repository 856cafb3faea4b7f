// `switchdiff prepare` end to end (docs/formats.md#dataset-files): IDX (plain, gzip), CIFAR-10 batches and ImageNet
// .npz written by numpy in the test come out as exactly their pixels and labels, with the sources' SHA-256 recorded;
// bad files give exit code 1 with the file named. The real Fashion-MNIST test set is checked by SHA-256 (slow).
#include <gtest/gtest.h>

#include <filesystem>

#include "cli/cli_helpers.h"
#include "cli/cli_python.h"
#include "io/h5_file.h"

namespace switchdiff {
namespace {

using testing::contains;
using testing::switchdiff;

class CliPrepare : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testing::suite_dir("CliPrepare.shared");
    testing::run_python_script(dir_, "tests/cli/py/make_prepare_sources.py");
  }
  static std::string path(const std::string& name) { return dir_ + "/" + name; }
  // Checks a prepared file against the sources with h5py/hashlib; prints OK.
  static std::string check(const std::string& out, const std::string& kind) {
    return testing::run_python_script(dir_, "tests/cli/py/check_prepared_file.py", {out, kind});
  }
  static std::string dir_;
};
std::string CliPrepare::dir_;

TEST_F(CliPrepare, IdxPlainAndGzipGiveTheSourcePixelsAndLabels) {
  const std::string dir = testing::scratch_dir();
  for (const std::string suffix : {"", ".gz"}) {
    const std::string out = dir + "/idx" + suffix + ".h5";
    const auto r = switchdiff(fmt::format("prepare --input {} --labels {} --output.path {}", path("img.idx" + suffix),
                                          path("lab.idx" + suffix), out));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "1x7x5")) << r.output;
    EXPECT_TRUE(contains(check(out, "idx"), suffix.empty() ? "OK idx\n" : "OK idx.gz")) << suffix;
  }
}

TEST_F(CliPrepare, CifarBatchesAreConcatenatedInTheOrderGiven) {
  const std::string out = testing::scratch_dir() + "/cifar.h5";
  const auto r = switchdiff(
      fmt::format("prepare --input {},{} --output.path {}", path("data_batch_1.bin"), path("data_batch_2.bin"), out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(check(out, "cifar"), "OK cifar10-binary"));
}

TEST_F(CliPrepare, ImagenetNpzNeedsAndRecordsItsVersion) {
  const std::string dir = testing::scratch_dir();
  const auto missing = switchdiff(fmt::format("prepare --input {} --output.path {}/a.h5", path("imagenet8.npz"), dir));
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_TRUE(contains(missing.output, "--imagenet-version")) << missing.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/a.h5"));
  const auto r = switchdiff(
      fmt::format("prepare --input {} --imagenet-version new --output.path {}/b.h5", path("imagenet8.npz"), dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(check(dir + "/b.h5", "imagenet"), "OK npz"));
}

// Concatenated gzip members (cat a.gz b.gz) are legal gzip and read as one stream.
TEST_F(CliPrepare, MultiMemberGzipReadsAsOneStream) {
  const std::string out = testing::scratch_dir() + "/two.h5";
  const auto r = switchdiff(
      fmt::format("prepare --input {} --labels {} --output.path {}", path("two_members.idx.gz"), path("lab.idx"), out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(check(out, "idx"), "OK idx.gz"));
}

TEST_F(CliPrepare, NeverOverwritesAnExistingFile) {
  const std::string out = testing::scratch_dir() + "/taken.h5";
  std::ofstream(out) << "precious";
  const auto r = switchdiff(fmt::format("prepare --input {} --output.path {}", path("img.idx"), out));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "never overwritten")) << r.output;
  EXPECT_EQ(testing::read_text(out), "precious");
}

struct BadSource {
  std::string name;
  std::string args;  // @D@ = the suite's folder
  std::vector<std::string> expect;
};

class CliPrepareBadInput : public CliPrepare, public ::testing::WithParamInterface<BadSource> {};

TEST_P(CliPrepareBadInput, ExitsOneNamingTheFile) {
  std::string args = GetParam().args;
  for (size_t at = args.find("@D@"); at != std::string::npos; at = args.find("@D@")) args.replace(at, 3, dir_);
  const std::string out = testing::scratch_dir() + "/out.h5";
  const auto r = switchdiff(fmt::format("prepare {} --output.path {}", args, out));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "error:")) << r.output;
  for (const auto& part : GetParam().expect) EXPECT_TRUE(contains(r.output, part)) << part << "\n" << r.output;
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_FALSE(std::filesystem::exists(out + ".partial"));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CliPrepareBadInput,
    ::testing::Values(
        BadSource{"truncated_idx", "--input @D@/truncated.idx", {"truncated.idx"}},
        BadSource{"truncated_idx_gz", "--input @D@/truncated.idx.gz", {"truncated.idx.gz"}},
        BadSource{"wrong_magic", "--input @D@/magic.idx", {"magic.idx"}},
        BadSource{"label_count_mismatch",
                  "--input @D@/img.idx --labels @D@/lab24.idx",
                  {"lab24.idx", "24 labels", "25 images"}},
        BadSource{"cifar_truncated", "--input @D@/cifar_truncated.bin", {"cifar_truncated.bin"}},
        BadSource{"mixed_formats", "--input @D@/img.idx,@D@/data_batch_1.bin", {"one format"}},
        BadSource{"missing_input", "--input @D@/nope.idx", {"nope.idx"}},
        BadSource{"listed_twice", "--input @D@/img.idx,@D@/img.idx", {"listed twice"}},
        BadSource{"empty_entry", "--input @D@/img.idx,", {"empty entry"}},
        BadSource{"no_input", "", {"--input is required"}},
        BadSource{"idx_dims_overflow", "--input @D@/huge_dims.idx", {"huge_dims.idx", "more than 2^63"}},
        BadSource{"idx_zero_images", "--input @D@/zero_images.idx", {"zero_images.idx", "at least one image"}},
        BadSource{"gz_trailing_bytes",
                  "--input @D@/trailing.idx.gz",
                  {"trailing.idx.gz", "7 bytes after the end of the gzip stream"}},
        BadSource{"npz_shape_overflow",
                  "--input @D@/overflow.npz --imagenet-version new",
                  {"overflow.npz:data", "more than 2^63 elements"}},
        BadSource{"npz_huge_dimension",
                  "--input @D@/huge_dim.npz --imagenet-version new",
                  {"huge_dim.npz:data", "beyond 2^63 - 1"}},
        BadSource{
            "npz_zero_images", "--input @D@/zero_images.npz --imagenet-version new", {"zero_images.npz", "no images"}}),
    [](const auto& test) { return test.param.name; });

// The real Fashion-MNIST test set (Debian's dataset-fashion-mnist): the prepared images and labels hash to
// the IDX payloads' SHA-256 (after the 16- and 8-byte headers).
TEST(CliPrepareSlow, FashionMnistTestSetKeepsTheSourcePixels) {
  const std::string source = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(source + "/t10k-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << source << " missing: apt-get install dataset-fashion-mnist";
  }
  const std::string dir = testing::scratch_dir();
  const auto r =
      switchdiff(fmt::format("prepare --input {0}/t10k-images-idx3-ubyte.gz --labels "
                             "{0}/t10k-labels-idx1-ubyte.gz --output.path {1}/t10k.h5",
                             source, dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string out = testing::run_python_script(dir, "tests/cli/py/check_prepared_fashion_mnist.py", {source});
  const size_t at = out.find("images sha256 ");
  ASSERT_NE(at, std::string::npos) << out;
  EXPECT_TRUE(contains(r.output, out.substr(at + 14, 64))) << r.output;  // the summary prints the same hash
  std::cout << out;
}

}  // namespace
}  // namespace switchdiff
