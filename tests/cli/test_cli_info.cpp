// `switchdiff info FILE` (docs/cli.md, docs/formats.md): a sweep file (written by h5py in the docs/formats.md layout)
// prints its run attributes and one table row per sweep point; other files list their datasets with scalar values;
// files that are missing, not HDF5 or inconsistent give exit code 1.
#include <gtest/gtest.h>

#include <sstream>

#include "cli/cli_helpers.h"
#include "cli/cli_python.h"

namespace switchdiff {
namespace {

using testing::contains;
using testing::switchdiff;

class CliInfo : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testing::suite_dir("CliInfo.shared");
    testing::run_python_script(dir_, "tests/cli/py/make_info_files.py");
  }
  static std::string dir_;
};
std::string CliInfo::dir_;

// The line of `output` that starts (after spaces) with `first`.
std::string line_starting(const std::string& output, const std::string& first) {
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    const size_t start = line.find_first_not_of(' ');
    if (start != std::string::npos && line.compare(start, first.size(), first) == 0) return line;
  }
  return "";
}

TEST_F(CliInfo, SweepFilePrintsRunAttributesAndOneRowPerPoint) {
  const auto r = switchdiff("info " + dir_ + "/sweep.h5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::cout << r.output;
  for (const char* part : {"0.1.0", "abc123def456", "2026-01-02T03:04:05Z", "switchdiff sweep --config demo.ini",
                           "[sweep] [+1 more lines]", "sweep: 3 point(s)", "/experts/quality"}) {
    EXPECT_TRUE(contains(r.output, part)) << part;
  }
  EXPECT_TRUE(contains(line_starting(r.output, "world_size"), "4")) << r.output;
  const std::string header = line_starting(r.output, "switch_sigma");
  for (const char* column : {"step", "fid", "IS", "nll_bpd", "stderr", "n_test", "elbo_bpd", "status"}) {
    EXPECT_TRUE(contains(header, column)) << column << " in " << header;
  }
  // Rows in file order; NaN and step -1 print as '-', status as a word.
  const std::string quality_alone = line_starting(r.output, "0 ");
  EXPECT_TRUE(contains(quality_alone, "12.5000") && contains(quality_alone, "3.2500") &&
              contains(quality_alone, "done"))
      << quality_alone;
  const std::string middle = line_starting(r.output, "0.5 ");
  EXPECT_TRUE(contains(middle, " 9 ") && contains(middle, "10.2500") && contains(middle, "partial")) << middle;
  const std::string last = line_starting(r.output, "80 ");
  EXPECT_TRUE(contains(last, "30.0000") && contains(last, "pending") && contains(last, " - ")) << last;
}

TEST_F(CliInfo, OtherFilesListDatasetsWithScalarValues) {
  const auto r = switchdiff("info " + dir_ + "/fid.h5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string fid = line_starting(r.output, "/fid");
  EXPECT_TRUE(contains(fid, "float64") && contains(fid, "scalar") && contains(fid, "= 3.25")) << r.output;
  EXPECT_TRUE(contains(r.output, "FID (tiny-features features)")) << r.output;
  EXPECT_TRUE(contains(line_starting(r.output, "/points/0/inception_mu"), "[16]")) << r.output;
}

TEST_F(CliInfo, BadFilesExitOne) {
  for (const auto& [args, expect] :
       std::vector<std::pair<std::string, std::string>>{{dir_ + "/nope.h5", "no such file"},
                                                        {dir_ + "/text.h5", "cannot open as HDF5"},
                                                        {dir_ + "/ragged_sweep.h5", "/sweep/nll_bpd has 3 entries"},
                                                        {"", "file is required"}}) {
    const auto r = switchdiff("info " + args);
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, expect)) << args << "\n" << r.output;
  }
}

}  // namespace
}  // namespace switchdiff
