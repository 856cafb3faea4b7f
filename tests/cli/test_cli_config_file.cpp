// INI files as users write them (docs/cli.md): ';' and '#' comments, and the bundled configs/demo.ini read by
// every command it serves (sample, nll, sweep), on the real demo models.
#include <gtest/gtest.h>

#include <fstream>

#include "cli/cli_helpers.h"
#include "io/h5_file.h"

namespace switchdiff {
namespace {

using testing::contains;
using testing::switchdiff;

TEST(CliConfigFile, SemicolonAndHashCommentsAreStripped) {
  const std::string dir = testing::scratch_dir();
  std::ofstream(dir + "/commented.ini") << "; a header comment\n# another one\n[experts]\nquality = "
                                        << testing::tiny_fixtures_dir() << "/tiny_edm.pt   ; inline comment\n"
                                        << "[sampler]\n  ; indented comment\nsteps = 4 ; Karras et al. use 18\n"
                                        << "[samples]\ncount = 3\t# tab, then hash\n";
  const auto r = switchdiff(fmt::format("sample --config {0}/commented.ini --output.path {0}/o.h5", dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string config = io::H5File::open(dir + "/o.h5", false).string_attribute("/", "config");
  EXPECT_TRUE(contains(config, "steps = 4\n")) << config;
  EXPECT_TRUE(contains(config, "count = 3\n")) << config;
  EXPECT_FALSE(contains(config, "Karras")) << config;
  EXPECT_TRUE(contains(r.output, "NFE per sample               7")) << r.output;  // Heun: 2*4 - 1
}

TEST(CliConfigFile, SemicolonInsideAValueIsKept) {
  const std::string dir = testing::scratch_dir();
  std::ofstream(dir + "/value.ini") << "[experts]\nquality = " << dir << "/a;b.pt\n";
  const auto r = switchdiff(fmt::format("sample --config {0}/value.ini --output.path {0}/o.h5", dir));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "a;b.pt")) << r.output;  // the whole path reached the loader
}

TEST(CliConfigFile, DemoConfigServesSampleStatsAndFidOnTheBundledModels) {
  const std::string dir = testing::scratch_dir();
  const std::string demo = testing::source_dir() + "/configs/demo.ini";
  const std::string run_from_root = "cd " + testing::source_dir() + " && " + testing::switchdiff_exe() + " ";
  const auto sample = testing::run_command(
      run_from_root +
      fmt::format("sample --config {} --samples.count 4 --sampler.steps 3 --switch.sigma 0.5 --output.path {}/s.h5",
                  demo, dir));
  ASSERT_EQ(sample.exit_code, 0) << sample.output;
  EXPECT_TRUE(contains(sample.output, "models/quality.pt")) << sample.output;
  const auto stats = testing::run_command(
      run_from_root + fmt::format("stats --config {0} --dataset {1}/s.h5 --output.path {1}/st.h5", demo, dir));
  ASSERT_EQ(stats.exit_code, 0) << stats.output;
  const auto fid = testing::run_command(
      run_from_root +
      fmt::format("fid --config {0} --samples {1}/s.h5 --fid.reference {1}/st.h5 --output.path {1}/f.h5", demo, dir));
  ASSERT_EQ(fid.exit_code, 0) << fid.output;
  EXPECT_TRUE(contains(fid.output, "FID")) << fid.output;
  EXPECT_LT(std::abs(io::H5File::open(dir + "/f.h5", false).read<double>("/fid").at(0)), 1e-6);  // FID(X, X)
}

}  // namespace
}  // namespace switchdiff

namespace switchdiff {
namespace {

TEST(CliConfigFile, SampleWithoutConfigOrExpertsUsesTheBundledDemoExperts) {
  // Run from a scratch folder: the bundled config's relative paths resolve against the source tree.
  const std::string dir = testing::scratch_dir();
  const auto r = testing::run_command(fmt::format(
      "cd {} && {} sample --samples.count 2 --sampler.steps 2 --output.path o.h5", dir, testing::switchdiff_exe()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const io::H5File file = io::H5File::open(dir + "/o.h5", false);
  EXPECT_EQ(file.string_attribute("/experts/quality", "path"), testing::source_dir() + "/models/quality.pt");
  EXPECT_EQ(file.string_attribute("/experts/likelihood", "path"), testing::source_dir() + "/models/likelihood.pt");
  EXPECT_TRUE(testing::contains(testing::switchdiff("nll --help").output, "configs/demo.ini"));
}

}  // namespace
}  // namespace switchdiff
