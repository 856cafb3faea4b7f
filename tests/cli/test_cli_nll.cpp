// `switchdiff nll` end to end: the file contract of docs/formats.md#likelihood-files, agreement with the library,
// rank-count and batch invariance, and bad input with exit code 1.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "cli/cli_helpers.h"
#include "experts/switched_denoiser.h"
#include "experts/torchscript_expert.h"
#include "io/h5_file.h"
#include "likelihood/likelihood_estimate.h"

namespace switchdiff {
namespace {

using testing::contains;
using testing::switchdiff;

std::string fixture(const std::string& name) { return testing::tiny_fixtures_dir() + "/" + name; }

// A uint8 dataset [n, c, h, w] written by h5py (an independent writer), pixels from a fixed seed.
std::string make_dataset(const std::string& dir, int n, int c, int h, const std::string& dtype = "uint8") {
  const std::string path = fmt::format("{}/data_{}_{}_{}_{}.h5", dir, n, c, h, dtype);
  const auto r = testing::run_command(testing::python_script_command(
      dir, "tests/cli/py/make_nll_dataset.py", {std::to_string(n), std::to_string(c), std::to_string(h), dtype, path}));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return path;
}

std::string nll_args(const std::string& dataset) {
  return fmt::format(
      "nll --experts.quality {} --experts.likelihood {} --switch.sigma 0.5 --nll.dataset {} "
      "--nll.rtol 1e-3 --nll.atol 1e-3 --nll.elbo_samples 8",
      fixture("tiny_edm_b.pt"), fixture("tiny_edm.pt"), dataset);
}

TEST(CliNll, WritesPerImageResultsMatchingTheLibrary) {
  const std::string dir = testing::scratch_dir();
  const std::string data = make_dataset(dir, 5, 1, 8);
  const auto r = switchdiff(fmt::format("{} --nll.batch 2 --output.path {}/nll.h5", nll_args(data), dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "NLL (bits/dim)")) << r.output;
  auto file = io::H5File::open(dir + "/nll.h5", false);
  const auto bpd = file.read<double>("/nll_bpd");
  ASSERT_EQ(bpd.size(), 5u);
  EXPECT_EQ(file.read<int64_t>("/index"), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(file.read<double>("/elbo_bpd").size(), 5u);
  // The default bins (nll.dequantization = grid, docs/likelihood.md).
  EXPECT_TRUE(contains(file.string_attribute("/", "bpd_formula"), "log2(127.5) (= 6.99435) with y = (k + u - 1/2)"))
      << file.string_attribute("/", "bpd_formula");
  EXPECT_EQ(file.int_attribute("/", "nll_seed"), 0);
  EXPECT_DOUBLE_EQ(file.double_attribute("/", "ode_sigma_min"), 0.002);
  double mean = 0;
  for (double b : bpd) mean += b / 5;
  EXPECT_NEAR(file.double_attribute("/", "nll_bpd_mean"), mean, 1e-12);
  for (double n : file.read<double>("/nfe")) EXPECT_GT(n, 10);

  // The library on the same images and seeds (images 2 and 3: the second block of the run above).
  auto q = std::make_shared<experts::TorchScriptExpert>(experts::ExpertSpec{fixture("tiny_edm_b.pt")});
  auto l = std::make_shared<experts::TorchScriptExpert>(experts::ExpertSpec{fixture("tiny_edm.pt")});
  likelihood::LikelihoodOptions o;
  o.ode.rtol = o.ode.atol = 1e-3;
  o.elbo_options.samples = 8;
  auto images = at::from_blob(io::H5File::open(data, false).read<uint8_t>("/images").data(), {5, 1, 8, 8}, at::kByte)
                    .clone()
                    .narrow(0, 2, 2);
  const auto e = likelihood::estimate_likelihood(*experts::SwitchedDenoiser::merge(q, l, 0.5), images, {2, 3}, o);
  EXPECT_NEAR(e.nll_bpd[0].item<double>(), bpd[2], 1e-6 * std::abs(bpd[2]));
  EXPECT_NEAR(e.nll_bpd[1].item<double>(), bpd[3], 1e-6 * std::abs(bpd[3]));
}

TEST(CliNll, SameResultsForOneAndTwoRanksAndBatchSizes) {
  const std::string dir = testing::scratch_dir();
  const std::string data = make_dataset(dir, 5, 1, 8);
  ASSERT_EQ(switchdiff(fmt::format("{} --nll.batch 2 --output.path {}/a.h5", nll_args(data), dir)).exit_code, 0);
  const auto r2 =
      testing::switchdiff_mpi(2, fmt::format("{} --nll.batch 2 --output.path {}/b.h5", nll_args(data), dir));
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  ASSERT_EQ(switchdiff(fmt::format("{} --nll.batch 5 --output.path {}/c.h5", nll_args(data), dir)).exit_code, 0);
  const auto a = io::H5File::open(dir + "/a.h5", false).read<double>("/nll_bpd");
  EXPECT_EQ(a, io::H5File::open(dir + "/b.h5", false).read<double>("/nll_bpd"));  // same blocks: bitwise
  const auto c = io::H5File::open(dir + "/c.h5", false).read<double>("/nll_bpd");
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], c[i], 1e-6 * std::abs(a[i])) << i;
}

TEST(CliNll, BadInputExitsOne) {
  const std::string dir = testing::scratch_dir();
  const std::string wrong_shape = make_dataset(dir, 2, 1, 4);
  const std::string wrong_dtype = make_dataset(dir, 2, 1, 8, "float32");
  const std::string good = make_dataset(dir, 2, 1, 8);
  struct Case {
    std::string args, expect;
  } cases[] = {
      {nll_args(wrong_shape), "1x4x4"},
      {nll_args(wrong_dtype), "float32"},
      {nll_args(good) + " --nll.sigma_min 80 --nll.sigma_max 1", "sigma_min"},
      {nll_args(good) + " --nll.rtol 0", "rtol"},
      {nll_args(good) + " --nll.count 3", "nll.count = 3"},
      {nll_args(dir + "/missing.h5"), "missing.h5"},
      {nll_args(good) + " --nll.dequantization vdm",
       "nll.dequantization = 'vdm' (from command line) is not one of grid | score_sde"},
  };
  for (const auto& c : cases) {
    const auto r = switchdiff(fmt::format("{} --output.path {}/out.h5", c.args, dir));
    EXPECT_EQ(r.exit_code, 1) << c.args << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, c.expect)) << c.expect << "\n" << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir + "/out.h5"));
  }
}

// nll.dequantization: an unknown value lists the allowed ones; score_sde's bins are recorded in bpd_formula, move the
// numbers, and are part of the run identity, so an interrupted run never continues under the other bins.
TEST(CliNll, DequantizationIsAStatedRecordedChoice) {
  const std::string dir = testing::scratch_dir();
  const std::string data = make_dataset(dir, 2, 1, 8);
  const auto bad = switchdiff(fmt::format("{} --nll.dequantization vdm --output.path {}/bad.h5", nll_args(data), dir));
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  for (const char* part : {"'vdm'", "grid", "score_sde"}) EXPECT_TRUE(contains(bad.output, part)) << bad.output;

  const std::string args = nll_args(data) + " --nll.elbo false";
  ASSERT_EQ(switchdiff(fmt::format("{} --output.path {}/grid.h5", args, dir)).exit_code, 0);
  const auto r = switchdiff(fmt::format("{} --nll.dequantization score_sde --output.path {}/sde.h5", args, dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto grid = io::H5File::open(dir + "/grid.h5", false);
  const auto sde = io::H5File::open(dir + "/sde.h5", false);
  EXPECT_TRUE(contains(sde.string_attribute("/", "bpd_formula"), "+ 7 with y = (k + u) * 2/256 - 1"))
      << sde.string_attribute("/", "bpd_formula");
  EXPECT_NE(grid.read<double>("/nll_bpd"), sde.read<double>("/nll_bpd"));
  EXPECT_TRUE(contains(grid.string_attribute("/", "run_identity"), "dequantization = grid"));
  EXPECT_TRUE(contains(sde.string_attribute("/", "run_identity"), "dequantization = score_sde"));
}

}  // namespace
}  // namespace switchdiff
