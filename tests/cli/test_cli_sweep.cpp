// `switchdiff sweep` end to end (docs/sweep.md): the shared pass gives every point exactly what a sweep of that
// point alone gives, its samples are those of `sample`, it does not depend on the rank count or the array-task
// split, a stopped or killed sweep resumes to the same result, a finished sweep can gain points, and a
// mismatched resume or bad input is refused with nothing rewritten.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cli/cli_helpers.h"
#include "io/h5_file.h"

namespace switchdiff {
namespace {

using testing::contains;
using testing::switchdiff;

std::string fixture(const std::string& name) { return testing::tiny_fixtures_dir() + "/" + name; }

// A test set (samples of another expert) and reference statistics, made once per test in `dir`; returns the
// path of an INI for a 3-point sweep over them.
std::string make_sweep_inputs(const std::string& dir, int64_t samples = 24) {
  auto r =
      switchdiff(fmt::format("sample --experts.quality {} --samples.count 40 --samples.seed_base 1000 "
                             "--output.path {}/data.h5",
                             fixture("tiny_edm.pt"), dir));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = switchdiff(fmt::format("stats --fid.extractor {} --dataset {}/data.h5 --output.path {}/ref.h5",
                             fixture("tiny_features.pt"), dir, dir));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const std::string ini = dir + "/sweep.ini";
  std::ofstream(ini) << fmt::format(
      "[experts]\nquality = {}\nlikelihood = {}\n[sweep]\nsigmas = 0, 0.5, 80\n[sampler]\nsteps = 6\n"
      "[samples]\ncount = {}\nbatch = 8\n[nll]\ndataset = {}/data.h5\ncount = 6\nbatch = 3\nrtol = 1e-3\n"
      "atol = 1e-3\nelbo_samples = 8\n[fid]\nextractor = {}\nreference = {}/ref.h5\nbatch = 16\n",
      fixture("tiny_edm_b.pt"), fixture("tiny_edm.pt"), samples, dir, fixture("tiny_features.pt"), dir);
  return ini;
}

std::vector<double> column(const std::string& file, const std::string& name) {
  return io::H5File::open(file, false).read<double>("/sweep/" + name);
}

// Every dataset under /sweep and /points of two results files, compared bitwise (NaN == NaN).
void expect_same_results(const std::string& a, const std::string& b) {
  const io::H5File fa = io::H5File::open(a, false), fb = io::H5File::open(b, false);
  ASSERT_EQ(fa.children("/points"), fb.children("/points"));
  std::vector<std::string> paths;
  for (const auto& c : fa.children("/sweep")) paths.push_back("/sweep/" + c);
  for (const auto& p : fa.children("/points")) {
    for (const auto& c : fa.children("/points/" + p)) paths.push_back("/points/" + p + "/" + c);
  }
  for (const auto& path : paths) {
    const auto x = fa.read<double>(path), y = fb.read<double>(path);
    ASSERT_EQ(x.size(), y.size()) << path;
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_TRUE(x[i] == y[i] || (std::isnan(x[i]) && std::isnan(y[i]))) << path << "[" << i << "]";
    }
  }
}

// The datasets of point `k` of results file `a` and point `j` of `b`, bitwise (NaN == NaN); also the point's row.
// The ELBO of network experts is compared within `elbo_tolerance` bits/dim: the shared pass evaluates each ELBO
// node once for all points, so a network sees other sub-batches than for the point alone, and float32 kernels
// round by batch (measured: 9e-9 bits/dim on the tiny experts; docs/determinism.md). 0 for exact experts.
bool is_elbo(const std::string& name) { return name.find("elbo_bpd") != std::string::npos; }
bool same(double x, double y, double tolerance) {
  return x == y || (std::isnan(x) && std::isnan(y)) || std::abs(x - y) <= tolerance;
}
void expect_same_point(const std::string& a, int k, const std::string& b, int j, double elbo_tolerance = 1e-7) {
  const io::H5File fa = io::H5File::open(a, false), fb = io::H5File::open(b, false);
  const std::string pa = fmt::format("/points/{}", k), pb = fmt::format("/points/{}", j);
  ASSERT_EQ(fa.children(pa), fb.children(pb)) << a << " point " << k << " vs " << b << " point " << j;
  for (const auto& c : fa.children(pa)) {
    const auto x = fa.read<double>(pa + "/" + c), y = fb.read<double>(pb + "/" + c);
    ASSERT_EQ(x.size(), y.size()) << c;
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_TRUE(same(x[i], y[i], is_elbo(c) ? elbo_tolerance : 0))
          << c << "[" << i << "] of point " << k << ": " << x[i] << " vs " << y[i];
    }
  }
  for (const auto& c : fa.children("/sweep")) {
    const double x = fa.read<double>("/sweep/" + c).at(k), y = fb.read<double>("/sweep/" + c).at(j);
    EXPECT_TRUE(same(x, y, is_elbo(c) ? elbo_tolerance : 0)) << "/sweep/" << c << " of point " << k;
  }
}

// The sampling evaluations sharing allows for the tiny sweep's grid (Heun, 6 steps, EDM eq. (5) written out
// here) and switch sigmas: the quality trunk to the deepest branch, plus each distinct branch's remaining calls.
int64_t minimum_sample_evaluations(const std::vector<double>& etas, int n, int64_t samples) {
  std::vector<double> grid, calls;
  for (int i = 0; i < n; ++i) {
    grid.push_back(
        std::pow(std::pow(80.0, 1 / 7.0) + i / (n - 1.0) * (std::pow(0.002, 1 / 7.0) - std::pow(80.0, 1 / 7.0)), 7.0));
  }
  for (int i = 0; i < n; ++i) {
    calls.push_back(grid[i]);
    if (i < n - 1) calls.push_back(grid[i + 1]);
  }
  int64_t trunk = 0, branches = 0;
  std::vector<int64_t> seen;
  for (double eta : etas) {
    int64_t b = 0;
    while (b < static_cast<int64_t>(calls.size()) && calls[b] > eta) ++b;
    trunk = std::max(trunk, b);
    if (b < static_cast<int64_t>(calls.size()) && std::find(seen.begin(), seen.end(), b) == seen.end()) {
      seen.push_back(b);
      branches += static_cast<int64_t>(calls.size()) - b;
    }
  }
  return (trunk + branches) * samples;
}

TEST(CliSweep, SharedPassEqualsOnePointAtATimeBitwise) {
  const std::string dir = testing::scratch_dir();
  const std::string ini = make_sweep_inputs(dir, 26);  // 26 samples in blocks of 8: the last block is short
  // Pass A: eta = 0, between grid sigmas (twice in one interval), duplicated, sigma_max. Pass B (sweep.steps):
  // on a grid sigma exactly (sigma_3), sigma_0 = sigma_max exactly, duplicated.
  struct Pass {
    std::string key;
    std::vector<std::string> values;
  };
  for (const Pass& pass : {Pass{"sigmas", {"0", "0.5", "0.6", "0.5", "80"}}, Pass{"steps", {"3", "0", "3"}}}) {
    std::string list;
    for (const auto& v : pass.values) list += (list.empty() ? "" : ",") + v;
    const std::string out = fmt::format("{}/shared_{}.h5", dir, pass.key);
    // The config names sweep.sigmas; '' unsets it where the pass gives sweep.steps.
    const std::string unset = pass.key == "steps" ? "--sweep.sigmas ''" : "";
    const auto r =
        switchdiff(fmt::format("sweep --config {} {} --sweep.{} {} --sweep.keep_samples true --output.path {}", ini,
                               unset, pass.key, list, out));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(column(out, "status"), std::vector<double>(pass.values.size(), 2));
    for (size_t k = 0; k < pass.values.size(); ++k) {
      const std::string one = fmt::format("{}/one_{}_{}.h5", dir, pass.key, pass.values[k]);
      if (!std::filesystem::exists(one)) {
        const auto single =
            switchdiff(fmt::format("sweep --config {} {} --sweep.{} {} --sweep.keep_samples true --output.path {}", ini,
                                   unset, pass.key, pass.values[k], one));
        ASSERT_EQ(single.exit_code, 0) << single.output;
      }
      expect_same_point(out, static_cast<int>(k), one, 0);
      EXPECT_EQ(io::H5File::open(fmt::format("{}.samples/point_{}.h5", out, k), false).read<uint8_t>("/images"),
                io::H5File::open(one + ".samples/point_0.h5", false).read<uint8_t>("/images"));
    }
    if (pass.key == "sigmas") {
      // Performed sampling evaluations: the minimum sharing allows, counted from the grid; attributable: 11 per
      // sample per point.
      const io::H5File file = io::H5File::open(out, false);
      EXPECT_EQ(
          file.int_attribute("/performed", "sample_quality") + file.int_attribute("/performed", "sample_likelihood"),
          minimum_sample_evaluations({0, 0.5, 0.6, 0.5, 80}, 6, 26));
      EXPECT_EQ(file.int_attribute("/performed", "sample_attributable"), 11 * 26 * 5);
      EXPECT_FALSE(std::filesystem::exists(out + ".work/blocks"));  // records are removed once assembled
    }
  }
}

TEST(CliSweep, SamplesAndBitsPerDimAgreeWithTheSingleCommands) {
  const std::string dir = testing::scratch_dir();
  const std::string ini = make_sweep_inputs(dir);
  const std::string out = dir + "/s.h5";
  const auto r = switchdiff(fmt::format("sweep --config {} --sweep.keep_samples true --output.path {}", ini, out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "3/3 points done")) << r.output;
  EXPECT_TRUE(contains(r.output, "FID (tiny-features features)")) << r.output;
  io::H5File file = io::H5File::open(out, false);
  for (const char* attr : {"switchdiff_version", "git_commit", "created_utc", "command", "config", "bpd_formula"}) {
    EXPECT_TRUE(file.has_attribute("/", attr)) << attr;
  }
  EXPECT_EQ(file.int_attribute("/", "world_size"), 1);
  EXPECT_TRUE(file.has_attribute("/experts/quality", "sha256"));
  EXPECT_EQ(column(out, "switch_sigma"), (std::vector<double>{0, 0.5, 80}));
  EXPECT_EQ(column(out, "sample_nfe_mean"), (std::vector<double>{11, 11, 11}));  // Heun, 6 steps
  for (int k = 0; k < 3; ++k) {
    const auto loo = file.read<double>(fmt::format("/points/{}/fid_leave_one_out", k));
    ASSERT_EQ(loo.size(), 10u);
    double mean = 0, squares = 0;
    for (double v : loo) mean += v / 10;
    for (double v : loo) squares += (v - mean) * (v - mean);
    EXPECT_NEAR(column(out, "fid_stderr")[static_cast<size_t>(k)], std::sqrt(0.9 * squares), 1e-12);
    EXPECT_GT(column(out, "fid_stderr")[static_cast<size_t>(k)], 0);
  }
  // Point 1 (eta = 0.5) by the single-purpose commands: the same blocks give the same samples, bitwise.
  const std::string experts =
      fmt::format("--experts.quality {} --experts.likelihood {}", fixture("tiny_edm_b.pt"), fixture("tiny_edm.pt"));
  auto s =
      switchdiff(fmt::format("sample --config {} {} --switch.sigma 0.5 --output.path {}/p1.h5", ini, experts, dir));
  ASSERT_EQ(s.exit_code, 0) << s.output;
  EXPECT_EQ(io::H5File::open(out + ".samples/point_1.h5", false).read<uint8_t>("/images"),
            io::H5File::open(dir + "/p1.h5", false).read<uint8_t>("/images"));
  // The sweep extracts features per sample block (8 images), `stats` per fid.batch (16): float32 kernels round
  // differently by batch, so FID agrees to rounding (docs/determinism.md), not bitwise.
  s = switchdiff(fmt::format("fid --config {} --samples {}/p1.h5", ini, dir));
  ASSERT_EQ(s.exit_code, 0) << s.output;
  const double fid = std::stod(s.output.substr(s.output.find("FID: ") + 5));
  EXPECT_NEAR(column(out, "fid")[1], fid, 1e-6 * fid);
  s = switchdiff(fmt::format("nll --config {} {} --switch.sigma 0.5 --output.path {}/n1.h5", ini, experts, dir));
  ASSERT_EQ(s.exit_code, 0) << s.output;
  const auto alone = io::H5File::open(dir + "/n1.h5", false).read<double>("/nll_bpd");
  const auto shared = file.read<double>("/points/1/nll_bpd_per_image");
  ASSERT_EQ(shared.size(), alone.size());
  for (size_t i = 0; i < alone.size(); ++i) EXPECT_NEAR(shared[i], alone[i], 1e-5) << "image " << i;
  std::vector<uint8_t> preview = file.read<uint8_t>("/points/1/images");
  std::vector<uint8_t> first(preview.size());
  io::H5File::open(dir + "/p1.h5", false).read_rows("/images", 0, 16, first.data());
  EXPECT_EQ(preview, first);

  // A second run finds everything done, computes nothing and leaves the file as it was.
  file.close();  // HDF5 locks a file open for reading against writers
  const auto before = std::filesystem::last_write_time(out);
  const auto again = switchdiff(fmt::format("sweep --config {} --output.path {}", ini, out));
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(contains(again.output, "all 3 points are done")) << again.output;
  EXPECT_EQ(std::filesystem::last_write_time(out), before);
}

TEST(CliSweep, SameResultsForOneAndThreeRanks) {
  const std::string dir = testing::scratch_dir();
  const std::string ini = make_sweep_inputs(dir);
  const auto one = switchdiff(fmt::format("sweep --config {} --output.path {}/one.h5", ini, dir));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto three = testing::switchdiff_mpi(3, fmt::format("sweep --config {} --output.path {}/three.h5", ini, dir));
  ASSERT_EQ(three.exit_code, 0) << three.output;
  expect_same_results(dir + "/one.h5", dir + "/three.h5");
  EXPECT_EQ(io::H5File::open(dir + "/three.h5", false).int_attribute("/", "world_size"), 3);
}

TEST(CliSweep, ConcurrentArrayTasksAssembleOneFile) {
  const std::string dir = testing::scratch_dir();
  const std::string ini = make_sweep_inputs(dir);
  const auto whole = switchdiff(fmt::format("sweep --config {} --output.path {}/whole.h5", ini, dir));
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  // Three "array tasks" at once, each a third of the blocks, as slurm/sweep.sbatch runs them in an array; the last
  // to finish assembles.
  std::vector<testing::CommandResult> tasks(3);
  std::vector<std::thread> threads;
  for (int k = 0; k < 3; ++k) {
    threads.emplace_back([&, k] {
      tasks[k] = switchdiff(fmt::format("sweep --config {} --sweep.task {}/3 --output.path {}/array.h5", ini, k, dir));
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& t : tasks) ASSERT_EQ(t.exit_code, 0) << t.output;
  expect_same_results(dir + "/whole.h5", dir + "/array.h5");
  const auto final_run = switchdiff(fmt::format("sweep --config {} --output.path {}/array.h5", ini, dir));
  EXPECT_TRUE(contains(final_run.output, "all 3 points are done")) << final_run.output;
}

TEST(CliSweep, ResumesAfterSigtermAndSigkillWithIdenticalResults) {
  const std::string dir = testing::scratch_dir();
  const std::string ini = make_sweep_inputs(dir, 200);
  const auto whole = switchdiff(fmt::format("sweep --config {} --output.path {}/whole.h5", ini, dir));
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  // SIGTERM once the first block record exists: exit 3, progress saved.
  const std::string command = fmt::format("{} sweep --config {} --output.path {}/stopped.h5 > {}/stopped.log 2>&1",
                                          testing::switchdiff_exe(), ini, dir, dir);
  const auto stopped = testing::run_command(
      fmt::format("({}) & pid=$!; for i in $(seq 400); do [ -e {}/stopped.h5.work/blocks/s0.h5 ] && break; "
                  "sleep 0.05; done; kill -TERM $pid; wait $pid; echo exit=$?",
                  command, dir));
  EXPECT_TRUE(contains(stopped.output, "exit=3")) << stopped.output;
  std::ifstream log(dir + "/stopped.log");
  const std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_TRUE(contains(text, "run the same command again to resume")) << text;
  // Then SIGKILL twice, at different moments (a block in flight is lost, nothing else), and resume to the end.
  for (const char* moment : {"s2.h5", "n0.h5"}) {
    const auto killed = testing::run_command(
        fmt::format("({}) & pid=$!; for i in $(seq 600); do [ -e {}/stopped.h5.work/blocks/{} ] && break; "
                    "sleep 0.05; done; sleep 0.3; kill -KILL $pid; wait $pid; echo exit=$?",
                    command, dir, moment));
    EXPECT_TRUE(contains(killed.output, "exit=137") || contains(killed.output, "exit=0")) << killed.output;
  }
  const auto resumed = switchdiff(fmt::format("sweep --config {} --output.path {}/stopped.h5", ini, dir));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  expect_same_results(dir + "/whole.h5", dir + "/stopped.h5");
}

TEST(CliSweep, NewSwitchSigmaJoinsAFinishedSweep) {
  const std::string dir = testing::scratch_dir();
  const std::string ini = make_sweep_inputs(dir);
  const std::string out = dir + "/s.h5";
  ASSERT_EQ(switchdiff(fmt::format("sweep --config {} --sweep.sigmas 0,80 --output.path {}", ini, out)).exit_code, 0);
  const auto before = io::H5File::open(out, false).read<double>("/points/1/nll_bpd_per_image");
  const auto r = switchdiff(fmt::format("sweep --config {} --sweep.sigmas 0,80,0.5 --output.path {}", ini, out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "sweep pass: 1 points")) << r.output;
  EXPECT_EQ(column(out, "switch_sigma"), (std::vector<double>{0, 80, 0.5}));
  EXPECT_EQ(column(out, "status"), (std::vector<double>{2, 2, 2}));
  EXPECT_EQ(io::H5File::open(out, false).read<double>("/points/1/nll_bpd_per_image"), before);  // kept as it was
  // The new point equals a sweep that had it from the start.
  ASSERT_EQ(switchdiff(fmt::format("sweep --config {} --output.path {}/fresh.h5", ini, dir)).exit_code, 0);
  expect_same_point(out, 2, dir + "/fresh.h5", 1);
}

TEST(CliSweep, RefusesAMismatchedResumeAndLeavesFinishedResults) {
  const std::string dir = testing::scratch_dir();
  const std::string ini = make_sweep_inputs(dir);
  ASSERT_EQ(switchdiff(fmt::format("sweep --config {} --output.path {}/s.h5", ini, dir)).exit_code, 0);
  const auto before = std::filesystem::last_write_time(dir + "/s.h5");
  const auto r = switchdiff(fmt::format("sweep --config {} --output.path {}/s.h5 --samples.count 25", ini, dir));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "stored:  samples.count = 24")) << r.output;
  EXPECT_TRUE(contains(r.output, "current: samples.count = 25")) << r.output;
  EXPECT_EQ(std::filesystem::last_write_time(dir + "/s.h5"), before);
  // A finished sweep run again with other batch sizes has nothing to do.
  const auto rebatched = switchdiff(fmt::format("sweep --config {} --output.path {}/s.h5 --samples.batch 5", ini, dir));
  EXPECT_EQ(rebatched.exit_code, 0) << rebatched.output;
  EXPECT_EQ(std::filesystem::last_write_time(dir + "/s.h5"), before);
}

struct BadSweep {
  const char* name;
  const char* args;
  const char* message;
};
class CliSweepBadInput : public ::testing::TestWithParam<BadSweep> {};

TEST_P(CliSweepBadInput, ExitsOneWithClearMessage) {
  const std::string dir = testing::scratch_dir();
  const std::string ini = make_sweep_inputs(dir);
  std::ofstream(dir + "/other.h5") << "not a sweep";
  ASSERT_EQ(switchdiff(fmt::format("sample --experts.quality {} --samples.count 2 --output.path {}/samples.h5",
                                   fixture("tiny_edm.pt"), dir))
                .exit_code,
            0);
  std::string args = fmt::format(fmt::runtime(GetParam().args), fmt::arg("ini", ini), fmt::arg("dir", dir));
  if (args.find("@NARROW@") != std::string::npos) args.replace(args.find("@NARROW@"), 8, fixture("tiny_edm_narrow.pt"));
  const auto r = switchdiff("sweep " + args);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, GetParam().message)) << r.output;
  // Refused before any work: no results file and no work folder.
  EXPECT_FALSE(std::filesystem::exists(dir + "/s.h5"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/s.h5.work"));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CliSweepBadInput,
    ::testing::Values(
        BadSweep{"task_out_of_range", "--config {ini} --sweep.task 3/3 --output.path {dir}/s.h5", "0 <= i < n"},
        BadSweep{"task_not_a_fraction", "--config {ini} --sweep.task 2 --output.path {dir}/s.h5", "give i/n"},
        BadSweep{"negative_sigma", "--config {ini} --sweep.sigmas 0,-1 --output.path {dir}/s.h5",
                 "finite numbers >= 0"},
        BadSweep{"sigmas_and_steps", "--config {ini} --sweep.steps all --output.path {dir}/s.h5", "both set"},
        BadSweep{"nothing_measured", "--config {ini} --samples.count 0 --nll.count 0 --output.path {dir}/s.h5",
                 "measures nothing"},
        BadSweep{"reference_without_extractor", "--config {ini} --fid.extractor '' --output.path {dir}/s.h5",
                 "fid.extractor"},
        // The narrow expert is trained on sigma >= 0.5 only: point eta = 80 would use it down to 0.002.
        BadSweep{"point_outside_trained_range",
                 "--config {ini} --experts.likelihood @NARROW@ --sweep.sigmas 0.5,80 --output.path {dir}/s.h5",
                 "trained range"},
        BadSweep{"too_few_samples_for_jackknife",
                 "--config {ini} --sweep.fid_jackknife_groups 13 --output.path {dir}/s.h5", "samples.count >= 26"},
        BadSweep{"existing_foreign_hdf5", "--config {ini} --output.path {dir}/samples.h5",
                 "not a switchdiff sweep results file"},
        BadSweep{"existing_non_hdf5", "--config {ini} --output.path {dir}/other.h5", "other.h5"},
        BadSweep{"unwritable_output", "--config {ini} --output.path {dir}/other.h5/s.h5", "output.path"}),
    [](const auto& test) { return test.param.name; });

TEST(CliSweep, WithoutConfigRunsTheBundledDemo) {
  const std::string dir = testing::scratch_dir();
  // Tiny stand-ins for the demo's data (28x28 like Fashion-MNIST), given on the command line so that the test
  // does not convert the real data set; the experts and the classifier come from configs/demo.ini.
  const std::string root = testing::source_dir();
  auto r =
      switchdiff(fmt::format("sample --experts.quality {}/models/quality.pt --samples.count 8 --sampler.steps 3 "
                             "--output.path {}/test.h5",
                             root, dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r =
      switchdiff(fmt::format("stats --fid.extractor {}/models/classifier_features.pt --dataset {}/test.h5 "
                             "--output.path {}/ref.h5",
                             root, dir, dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = testing::run_command(
      fmt::format("cd {0} && {1} sweep --nll.dataset {0}/test.h5 --fid.reference {0}/ref.h5 --sweep.sigmas 0,80 "
                  "--samples.count 4 --sweep.fid_jackknife_groups 2 --sampler.steps 3 --nll.count 1 --nll.rtol 1e-2 "
                  "--nll.atol 1e-2 "
                  "--nll.elbo false",
                  dir, testing::switchdiff_exe()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "bundled Fashion-MNIST demo")) << r.output;
  EXPECT_TRUE(contains(r.output, "FID (fashion-mnist-classifier features)")) << r.output;
  const std::string out = dir + "/results/demo_sweep.h5";
  EXPECT_EQ(column(out, "status"), (std::vector<double>{2, 2}));
  EXPECT_EQ(io::H5File::open(out, false).string_attribute("/experts/quality", "path"), root + "/models/quality.pt");
  EXPECT_TRUE(contains(switchdiff("sweep --help").output, "configs/demo.ini"));
}

}  // namespace
}  // namespace switchdiff
