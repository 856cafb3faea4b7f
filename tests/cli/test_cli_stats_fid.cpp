// `switchdiff stats` and `switchdiff fid` end to end (docs/metrics.md): rank-count invariance (bitwise) and batch
// invariance of the statistics, FID and Inception Score against numpy/scipy/torch references computed in
// the test, EDM .npz references, and every bad input with exit code 1 and a clear message.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "cli/cli_helpers.h"
#include "cli/cli_python.h"
#include "io/h5_file.h"

namespace switchdiff {
namespace {

using testing::contains;
using testing::switchdiff;

std::string fixture(const std::string& name) { return testing::tiny_fixtures_dir() + "/" + name; }

class CliStatsFid : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!references_.empty()) return;  // built once per process for both suites
    dir_ = testing::suite_dir("CliStatsFid.shared");
    // Smooth random blobs plus noise: a (1300 images) and b (300 images, much brighter background) differ in
    // distribution: FID(a, b) ~ 0.9 with the tiny extractor's small features (FID(a, a) = 0). 1x12x12: grayscale
    // is repeated to 3 channels by the extractor.
    testing::run_python_script(dir_, "tests/cli/py/make_stats_fid_datasets.py");
    const auto r =
        switchdiff(fmt::format("stats --dataset {0}/a.h5 --fid.extractor {1} --fid.batch 5 "
                               "--output.path {0}/ref_a.h5",
                               dir_, fixture("tiny_features.pt")));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    // pytorch-fid's calculate_frechet_distance (scipy.linalg.sqrtm) on features from torch.jit.load of the same
    // extractor, the Inception Score of openai/improved-gan (10 consecutive splits), and the reference/bad files.
    references_ =
        testing::run_python_script(dir_, "tests/cli/py/stats_fid_references.py", {fixture("tiny_features.pt")});
  }
  static std::string path(const std::string& name) { return dir_ + "/" + name; }
  // A number of the JSON line the reference script printed, e.g. "fid_ab" or "is_b_mean".
  static double reference(const std::string& key) {
    const size_t at = references_.find("\"" + key + "\": ");
    EXPECT_NE(at, std::string::npos) << key << " in " << references_;
    return at == std::string::npos ? std::nan("") : std::stod(references_.substr(at + key.size() + 4));
  }
  static std::string fid_args(const std::string& samples, const std::string& reference, const std::string& extra = "") {
    return fmt::format("fid --samples {} --fid.reference {} {}", samples, reference, extra);
  }
  static double fid_value(const testing::CommandResult& r) { return std::stod(testing::line_value(r.output, "FID")); }

  static std::string dir_;
  static std::string references_;
};
std::string CliStatsFid::dir_;
std::string CliStatsFid::references_;

std::vector<double> read_doubles(const std::string& file, const std::string& key) {
  return io::H5File::open(file, false).read<double>(key);
}

double max_relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double scale = 0, diff = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    scale = std::max(scale, std::abs(a[i]));
    diff = std::max(diff, std::abs(a[i] - b[i]));
  }
  return diff / scale;
}

TEST_F(CliStatsFid, StatisticsFileHoldsMomentsSumsAndProvenance) {
  auto file = io::H5File::open(path("ref_a.h5"), false);
  EXPECT_EQ(file.read<int64_t>("/n"), std::vector<int64_t>{1300});
  EXPECT_EQ(file.dataset_info("/mu").shape, (std::vector<int64_t>{16}));
  EXPECT_EQ(file.dataset_info("/sigma").shape, (std::vector<int64_t>{16, 16}));
  EXPECT_EQ(file.dataset_info("/sum_outer").shape, (std::vector<int64_t>{16, 16}));
  EXPECT_EQ(file.string_attribute("/", "extractor_name"), "tiny-features");
  EXPECT_EQ(file.string_attribute("/", "extractor_sha256").size(), 64u);
  EXPECT_TRUE(contains(file.string_attribute("/", "dataset"), "a.h5"));
  EXPECT_TRUE(contains(file.string_attribute("/", "config"), "batch = 5"));
  EXPECT_EQ(file.int_attribute("/", "world_size"), 1);
  // mu and sigma against numpy (mean, np.cov) of torch.jit features: float32 network, float64 statistics.
  EXPECT_LT(reference("mu_err"), 1e-6) << references_;
  EXPECT_LT(reference("sigma_err"), 1e-6) << references_;
  // The raw sums reproduce mu and sigma (docs/metrics.md formulas), so files can be merged.
  const auto mu = file.read<double>("/mu");
  const auto sum = file.read<double>("/sum");
  for (size_t i = 0; i < mu.size(); ++i) EXPECT_NEAR(mu[i], sum[i] / 1300.0, 1e-12 * std::abs(mu[i]) + 1e-15);
  // Inception Score of the dataset (the extractor has logits) against improved-gan's formula.
  EXPECT_NEAR(file.read<double>("/inception_score").front(), reference("is_a_mean"), 1e-6 * reference("is_a_mean"));
  EXPECT_NEAR(file.double_attribute("/inception_score", "std"), reference("is_a_std"), 1e-6);
}

// The extractor's SHA-256, stored in the statistics file, is printed as well.
TEST_F(CliStatsFid, StatsPrintsTheExtractorSha256) {
  const std::string out = testing::scratch_dir() + "/ten.h5";
  const auto r = switchdiff(fmt::format("stats --dataset {} --count 10 --fid.extractor {} --output.path {}",
                                        path("b.h5"), fixture("tiny_features.pt"), out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string sha = io::H5File::open(out, false).string_attribute("/", "extractor_sha256");
  EXPECT_TRUE(contains(r.output, "extractor sha256     " + sha + "  " + fixture("tiny_features.pt"))) << r.output;
}

TEST_F(CliStatsFid, BitwiseIdenticalForOneTwoThreeRanks) {
  // 1300 images in reduction blocks of 512 (pipeline/stats_job.h): 3 blocks over 2 and 3 ranks, calls of 5.
  const auto reference_mu = read_doubles(path("ref_a.h5"), "/mu");
  for (int ranks : {2, 3}) {
    const std::string out = fmt::format("{}/np{}.h5", testing::scratch_dir(), ranks);
    const auto r = testing::switchdiff_mpi(ranks, fmt::format("stats --dataset {} --fid.extractor {} --fid.batch 5 "
                                                              "--output.path {}",
                                                              path("a.h5"), fixture("tiny_features.pt"), out));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(io::H5File::open(out, false).int_attribute("/", "world_size"), ranks);
    for (const char* key : {"/mu", "/sigma", "/sum", "/sum_outer", "/inception_score"}) {
      EXPECT_EQ(read_doubles(out, key), read_doubles(path("ref_a.h5"), key)) << key << " with " << ranks << " ranks";
    }
  }
}

TEST_F(CliStatsFid, BatchSizesAgreeToRounding) {
  // The first 399 images (--count), batch 5 as the baseline. 399 = 57 * 7 = 6 * 64 + 15 = 79 * 5 + 4: no
  // block of one image except with batch 1 (see below).
  const std::string dir = testing::scratch_dir();
  const auto stats = [&](int batch) {
    const std::string out = fmt::format("{}/b{}.h5", dir, batch);
    const auto r =
        switchdiff(fmt::format("stats --dataset {} --count 399 --fid.extractor {} --fid.batch {} "
                               "--output.path {}",
                               path("a.h5"), fixture("tiny_features.pt"), batch, out));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return out;
  };
  const std::string baseline = stats(5);
  ASSERT_EQ(io::H5File::open(baseline, false).read<int64_t>("/n"), std::vector<int64_t>{399});
  for (int batch : {1, 7, 64}) {
    const std::string out = stats(batch);
    // Batches of 7 and 64 change only the order of float64 additions: ~3e-15. A block of one image also
    // changes the extractor's float32 output (LibTorch picks another convolution kernel for B = 1): ~1e-8,
    // i.e. float32 rounding of the features (float32 eps = 1.2e-7).
    const double tolerance = batch == 1 ? 1e-7 : 1e-13;
    for (const char* key : {"/mu", "/sigma"}) {
      const double d = max_relative_difference(read_doubles(out, key), read_doubles(baseline, key));
      EXPECT_LT(d, tolerance) << key << " batch " << batch;
      std::cout << "batch " << batch << " vs 5: " << key << " max relative difference " << d << "\n";
    }
  }
}

TEST_F(CliStatsFid, FidMatchesPytorchFidFormulaWithScipySqrtm) {
  const auto r = switchdiff(fid_args(path("b.h5"), path("ref_a.h5"), "--fid.extractor " + fixture("tiny_features.pt")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const double ours = fid_value(r);
  const double expected = reference("fid_ab");
  std::cout << "FID ours " << ours << " scipy " << expected << " relative " << std::abs(ours - expected) / expected
            << "\n";
  EXPECT_GT(expected, 0.5);
  EXPECT_NEAR(ours, expected, 1e-6 * expected);
  EXPECT_TRUE(contains(r.output, "FID (tiny-features features)")) << r.output;  // not Inception: say so
  EXPECT_EQ(testing::line_value(r.output, "FID").size(), fmt::format("{:.17g}", ours).size());
}

TEST_F(CliStatsFid, FidOfASetAgainstItselfIsZero) {
  const auto images =
      switchdiff(fid_args(path("a.h5"), path("ref_a.h5"), "--fid.extractor " + fixture("tiny_features.pt")));
  ASSERT_EQ(images.exit_code, 0) << images.output;
  EXPECT_LT(std::abs(fid_value(images)), 1e-8) << images.output;
  const auto stats = switchdiff(fid_args(path("ref_a.h5"), path("ref_a.h5")));
  ASSERT_EQ(stats.exit_code, 0) << stats.output;
  EXPECT_LT(std::abs(fid_value(stats)), 1e-8) << stats.output;
}

TEST_F(CliStatsFid, EdmNpzReferencesGiveTheHdf5Fid) {
  const std::string args = "--fid.extractor " + fixture("tiny_features.pt");
  const auto hdf5 = switchdiff(fid_args(path("b.h5"), path("ref_a.h5"), args));
  ASSERT_EQ(hdf5.exit_code, 0) << hdf5.output;
  for (const char* npz : {"ref_a.npz", "ref_a_compressed.npz"}) {
    const auto r = switchdiff(fid_args(path("b.h5"), path(npz), args));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(testing::line_value(r.output, "FID"), testing::line_value(hdf5.output, "FID")) << npz;
    EXPECT_TRUE(contains(r.output, "does not record its feature extractor")) << r.output;
  }
}

TEST_F(CliStatsFid, WritesFidAndInceptionScoreAndNeverOverwrites) {
  const std::string out = testing::scratch_dir() + "/fid.h5";
  const std::string args =
      fid_args(path("b.h5"), path("ref_a.h5"),
               fmt::format("--fid.extractor {} --output.path {}", fixture("tiny_features.pt"), out));
  const auto r = switchdiff(args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto file = io::H5File::open(out, false);
  EXPECT_EQ(fmt::format("{:.17g}", file.read<double>("/fid").front()), testing::line_value(r.output, "FID"));
  EXPECT_EQ(file.string_attribute("/fid", "metric"), "FID (tiny-features features)");
  EXPECT_EQ(file.int_attribute("/fid", "samples_n"), 300);
  EXPECT_EQ(file.int_attribute("/fid", "reference_n"), 1300);
  EXPECT_NEAR(file.read<double>("/inception_score").front(), reference("is_b_mean"), 1e-6 * reference("is_b_mean"));
  EXPECT_EQ(file.int_attribute("/inception_score", "splits"), 10);
  file.close();
  const auto size = std::filesystem::file_size(out);
  const auto again = switchdiff(args);
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_TRUE(contains(again.output, "never overwritten")) << again.output;
  EXPECT_EQ(std::filesystem::file_size(out), size);
}

struct BadInput {
  std::string name;
  std::string args;  // @D@ = suite folder, @F@ = fixtures folder
  std::vector<std::string> expect;
};

class CliStatsFidBadInput : public CliStatsFid, public ::testing::WithParamInterface<BadInput> {};

TEST_P(CliStatsFidBadInput, ExitsOneWithClearMessage) {
  std::string args = GetParam().args;
  for (const auto& [key, value] :
       {std::pair<std::string, std::string>{"@D@", dir_}, {"@F@", testing::tiny_fixtures_dir()}}) {
    for (size_t at = args.find(key); at != std::string::npos; at = args.find(key)) args.replace(at, key.size(), value);
  }
  const auto r = switchdiff(args);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "error:")) << r.output;
  for (const auto& part : GetParam().expect) EXPECT_TRUE(contains(r.output, part)) << part << "\n" << r.output;
}

const std::string kExt = "--fid.extractor @F@/tiny_features.pt";
INSTANTIATE_TEST_SUITE_P(
    Cases, CliStatsFidBadInput,
    ::testing::Values(
        BadInput{"extractor_mismatch_images",
                 "fid --samples @D@/b.h5 --fid.reference @D@/ref_a.h5 --fid.extractor @F@/tiny_features_b.pt",
                 {"feature extractors differ", "'tiny-features-b'", "'tiny-features'"}},
        BadInput{"extractor_mismatch_statistics",
                 "fid --samples @D@/ref_a.h5 --fid.reference @D@/ref_a.h5 --fid.extractor @F@/tiny_features_b.pt",
                 {"feature extractors differ", "tiny_features_b.pt", "'tiny-features'"}},
        BadInput{"corrupt_npz", "fid --samples @D@/b.h5 --fid.reference @D@/corrupt.npz " + kExt, {"corrupt.npz"}},
        BadInput{
            "truncated_npz", "fid --samples @D@/b.h5 --fid.reference @D@/truncated.npz " + kExt, {"truncated.npz"}},
        BadInput{"truncated_hdf5",
                 "fid --samples @D@/b.h5 --fid.reference @D@/truncated.h5 " + kExt,
                 {"truncated.h5", "HDF5"}},
        BadInput{"npz_missing_sigma",
                 "fid --samples @D@/b.h5 --fid.reference @D@/no_sigma.npz " + kExt,
                 {"no_sigma.npz", "sigma"}},
        BadInput{"hdf5_missing_sigma",
                 "fid --samples @D@/b.h5 --fid.reference @D@/no_sigma.h5 " + kExt,
                 {"no_sigma.h5", "/sigma"}},
        BadInput{"sigma_wrong_shape",
                 "fid --samples @D@/b.h5 --fid.reference @D@/bad_shape.npz " + kExt,
                 {"sigma has shape [16, 17]", "expected [16, 16]"}},
        BadInput{"feature_dim_mismatch",
                 "fid --samples @D@/b.h5 --fid.reference @D@/dim8.npz " + kExt,
                 {"feature dimensions differ", "F = 16", "F = 8"}},
        BadInput{"nan_reference", "fid --samples @D@/b.h5 --fid.reference @D@/nan.npz " + kExt, {"NaN"}},
        BadInput{"reference_not_psd_npz",
                 "fid --samples @D@/b.h5 --fid.reference @D@/indefinite.npz " + kExt,
                 {"indefinite.npz", "not positive semi-definite", "smallest eigenvalue"}},
        BadInput{"reference_not_psd_hdf5",
                 "fid --samples @D@/b.h5 --fid.reference @D@/indefinite.h5 " + kExt,
                 {"indefinite.h5", "not a covariance matrix", "checked: finite, symmetric, positive semi-definite"}},
        BadInput{"reference_not_symmetric",
                 "fid --samples @D@/b.h5 --fid.reference @D@/asymmetric.npz " + kExt,
                 {"asymmetric.npz", "not symmetric"}},
        BadInput{"stats_of_zero_images",
                 "stats --dataset @D@/zero.h5 --output.path @D@/never.h5 " + kExt,
                 {"zero.h5", "no images"}},
        BadInput{"fid_of_zero_images",
                 "fid --samples @D@/zero.h5 --fid.reference @D@/ref_a.h5 " + kExt,
                 {"zero.h5", "no images"}},
        BadInput{"reference_n_below_2", "fid --samples @D@/b.h5 --fid.reference @D@/n1.h5 " + kExt, {"n1.h5", "n = 1"}},
        BadInput{"stats_of_one_image",
                 "stats --dataset @D@/one.h5 --output.path @D@/never.h5 " + kExt,
                 {"one.h5", "at least 2"}},
        BadInput{"fid_of_one_image",
                 "fid --samples @D@/one.h5 --fid.reference @D@/ref_a.h5 " + kExt,
                 {"one.h5", "at least 2"}},
        BadInput{"images_without_extractor",
                 "fid --samples @D@/b.h5 --fid.reference @D@/ref_a.h5",
                 {"--fid.extractor", "'tiny-features'"}},
        BadInput{"samples_without_images_or_mu",
                 "fid --samples @D@/neither.h5 --fid.reference @D@/ref_a.h5 " + kExt,
                 {"neither.h5", "/images"}},
        BadInput{"missing_reference",
                 "fid --samples @D@/b.h5 --fid.reference @D@/nope.npz " + kExt,
                 {"nope.npz", "no such file"}},
        BadInput{"no_reference_key", "fid --samples @D@/b.h5 " + kExt, {"fid.reference"}},
        BadInput{"stats_existing_output",
                 "stats --dataset @D@/b.h5 --output.path @D@/ref_a.h5 " + kExt,
                 {"never overwritten"}},
        BadInput{"stats_bad_count",
                 "stats --dataset @D@/b.h5 --count 301 --output.path @D@/never.h5 " + kExt,
                 {"--count 301", "300 images"}},
        BadInput{"bad_extractor",
                 "stats --dataset @D@/b.h5 --output.path @D@/never.h5 --fid.extractor @F@/tiny_edm.pt",
                 {"tiny_edm.pt"}}),
    [](const auto& test) { return test.param.name; });

}  // namespace
}  // namespace switchdiff
