// `switchdiff sample` end to end: the output contract of docs/formats.md#samples-files, rank-count and batch
// invariance, resume after a signal, and every bad input with exit code 1 and nothing overwritten.
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/cli_helpers.h"
#include "cli/cli_python.h"
#include "experts/switched_denoiser.h"
#include "experts/torchscript_expert.h"
#include "io/h5_file.h"
#include "sampling/sample_batch.h"

namespace switchdiff {
namespace {

using testing::contains;
using testing::switchdiff;

std::string fixture(const std::string& name) { return testing::tiny_fixtures_dir() + "/" + name; }

std::string experts_args(const std::string& quality = "tiny_edm_b.pt", const std::string& likelihood = "tiny_edm.pt") {
  return fmt::format("--experts.quality {} --experts.likelihood {}", fixture(quality), fixture(likelihood));
}

std::vector<uint8_t> read_images(const std::string& path) {
  return io::H5File::open(path, false).read<uint8_t>("/images");
}

TEST(CliSample, WritesImagesSeedsConfigAndPngMatchingTheLibrary) {
  const std::string dir = testing::scratch_dir();
  const auto r =
      switchdiff(fmt::format("sample {} --switch.step 9 --samples.count 10 --samples.batch 4 "
                             "--samples.seed_base 100 --output.path {}/s.h5 --png {}/grid.png",
                             experts_args(), dir, dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "resolved configuration")) << r.output;
  EXPECT_TRUE(contains(r.output, "NFE per sample")) << r.output;
  auto file = io::H5File::open(dir + "/s.h5", false);
  EXPECT_EQ(file.dataset_info("/images").shape, (std::vector<int64_t>{10, 1, 8, 8}));
  const auto seeds = file.read<int64_t>("/seeds");
  ASSERT_EQ(seeds.size(), 10u);
  EXPECT_EQ(seeds.front(), 100);
  EXPECT_EQ(seeds.back(), 109);
  EXPECT_TRUE(contains(file.string_attribute("/", "config"), "[switch]\nstep = 9"));
  EXPECT_EQ(file.string_attribute("/experts/quality", "parameterization"), "edm");
  EXPECT_EQ(file.string_attribute("/experts/quality", "sha256").size(), 64u);
  EXPECT_TRUE(std::filesystem::file_size(dir + "/grid.png") > 100);
  EXPECT_FALSE(std::filesystem::exists(dir + "/s.h5.partial"));
  // The stored SHA-256 of each model file is printed too, one line per file.
  for (const std::string role : {"quality", "likelihood"}) {
    const size_t at = r.output.find(role + " expert sha256 ");
    ASSERT_NE(at, std::string::npos) << r.output;
    const std::string line = r.output.substr(at, r.output.find('\n', at) - at);
    EXPECT_TRUE(contains(line, file.string_attribute("/experts/" + role, "sha256") + "  " +
                                   fixture(role == "quality" ? "tiny_edm_b.pt" : "tiny_edm.pt")))
        << line;
  }

  // The same seeds through the library give the same bytes.
  auto quality = std::make_shared<experts::TorchScriptExpert>(experts::ExpertSpec{fixture("tiny_edm_b.pt")});
  auto likelihood = std::make_shared<experts::TorchScriptExpert>(experts::ExpertSpec{fixture("tiny_edm.pt")});
  sampling::SamplerOptions o;
  const double eta = file.double_attribute("/", "switch_sigma");
  const auto batch = sampling::sample_seeds(*experts::SwitchedDenoiser::merge(quality, likelihood, eta),
                                            core::consecutive_seeds(100, 10), o);
  const at::Tensor expected = batch.images.reshape(-1).contiguous();
  const auto images = file.read<uint8_t>("/images");
  EXPECT_EQ(std::vector<uint8_t>(expected.data_ptr<uint8_t>(), expected.data_ptr<uint8_t>() + expected.numel()),
            images);
}

TEST(CliSample, SameImagesForOneTwoThreeRanksAndAnyBatch) {
  const std::string dir = testing::scratch_dir();
  const std::string common =
      fmt::format("sample {} --switch.sigma 0.5 --samples.count 13 --sampler.churn 5", experts_args());
  ASSERT_EQ(switchdiff(fmt::format("{} --samples.batch 5 --output.path {}/one.h5", common, dir)).exit_code, 0);
  const auto reference = read_images(dir + "/one.h5");
  for (int ranks : {2, 3}) {
    const auto r = testing::switchdiff_mpi(
        ranks, fmt::format("{} --samples.batch 5 --output.path {}/np{}.h5", common, dir, ranks));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(read_images(fmt::format("{}/np{}.h5", dir, ranks)), reference) << ranks << " ranks";
    EXPECT_EQ(io::H5File::open(fmt::format("{}/np{}.h5", dir, ranks), false).int_attribute("/", "world_size"), ranks);
  }
  // Batch size changes kernels' blocking at most in float32 rounding; quantized images agree except for
  // rare pixels on a quantization boundary.
  ASSERT_EQ(switchdiff(fmt::format("{} --samples.batch 1 --output.path {}/b1.h5", common, dir)).exit_code, 0);
  const auto b1 = read_images(dir + "/b1.h5");
  int64_t differing = 0;
  for (size_t i = 0; i < b1.size(); ++i) differing += std::abs(int(b1[i]) - int(reference[i])) > 0;
  EXPECT_LE(differing, 2) << "of " << b1.size() << " pixels";
}

TEST(CliSample, ResumesAfterSigtermWithIdenticalResult) {
  const std::string dir = testing::scratch_dir();
  const std::string common =
      fmt::format("sample {} --switch.step 5 --samples.count 240 --samples.batch 8 --sampler.steps 24", experts_args());
  ASSERT_EQ(switchdiff(fmt::format("{} --output.path {}/full.h5", common, dir)).exit_code, 0);
  // Start, wait until the work folder exists, then SIGTERM (as SLURM does before preemption).
  const auto stopped = testing::run_command(fmt::format(
      "{} {} --output.path {}/r.h5 & pid=$!; for i in $(seq 600); do sleep 0.05; "
      "[ -f {}/r.h5.work/identity.txt ] && break; done; sleep 0.5; kill -TERM $pid; wait $pid; echo exit=$?",
      testing::switchdiff_exe(), common, dir, dir));
  ASSERT_TRUE(contains(stopped.output, "exit=3")) << stopped.output;
  EXPECT_TRUE(contains(stopped.output, "resume")) << stopped.output;
  ASSERT_TRUE(std::filesystem::exists(dir + "/r.h5.work/identity.txt"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/r.h5"));
  // A different config must not resume into that file.
  const auto mismatch = switchdiff(fmt::format("{} --samples.seed_base 1 --output.path {}/r.h5", common, dir));
  EXPECT_EQ(mismatch.exit_code, 1) << mismatch.output;
  EXPECT_TRUE(contains(mismatch.output, "interrupted run")) << mismatch.output;
  const auto resumed = switchdiff(fmt::format("{} --output.path {}/r.h5", common, dir));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_TRUE(contains(resumed.output, "resuming")) << resumed.output;
  EXPECT_EQ(read_images(dir + "/r.h5"), read_images(dir + "/full.h5"));
}

struct BadInput {
  std::string name;
  std::string args;         // after "sample", before --output.path
  std::string expect_text;  // part of the error message
};

class CliSampleBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(CliSampleBadInput, ExitsOneWithClearMessage) {
  const BadInput c = GetParam();
  const std::string dir = testing::scratch_dir();
  std::string args = c.args;
  for (const std::string& key : {std::string("@FIX@")}) {
    for (size_t at = args.find(key); at != std::string::npos; at = args.find(key)) {
      args.replace(at, key.size(), testing::tiny_fixtures_dir());
    }
  }
  const auto r = switchdiff(fmt::format("sample {} --samples.count 4 --output.path {}/out.h5", args, dir));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, c.expect_text)) << r.output;
  EXPECT_TRUE(contains(r.output, "error:")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/out.h5"));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CliSampleBadInput,
    ::testing::Values(
        BadInput{"missing_file", "--experts.quality @FIX@/nope.pt", "not found"},
        BadInput{"not_torchscript", "--experts.quality @FIX@/not_torchscript.pt", "not a readable TorchScript"},
        BadInput{"truncated", "--experts.quality @FIX@/truncated.pt", "truncated.pt"},
        BadInput{"wrong_signature", "--experts.quality @FIX@/bad_signature.pt", "forward(x, sigma)"},
        BadInput{"wrong_output_shape", "--experts.quality @FIX@/bad_shape.pt", "returned shape"},
        BadInput{"nan_output", "--experts.quality @FIX@/nan_output.pt", "sample seeds 0, 1, 2, 3"},
        BadInput{"shape_mismatch", "--experts.quality @FIX@/tiny_edm_rgb.pt --experts.likelihood @FIX@/tiny_edm.pt",
                 "3x8x8"},
        BadInput{"eta_negative", "--experts.quality @FIX@/tiny_edm.pt --switch.sigma -1", "switch.sigma = '-1'"},
        BadInput{"eta_outside_trained_range",
                 "--experts.quality @FIX@/tiny_edm_narrow.pt --experts.likelihood @FIX@/tiny_edm.pt --switch.sigma 0.1",
                 "trained for [0.5, 80]"},
        BadInput{"step_out_of_range", "--experts.quality @FIX@/tiny_edm.pt --switch.step 19", "switch.step = 19"},
        BadInput{"both_switch_keys", "--experts.quality @FIX@/tiny_edm.pt --switch.step 3 --switch.sigma 1",
                 "both set"},
        BadInput{"unknown_key", "--experts.quality @FIX@/tiny_edm.pt --sampler.stepz 3", "sampler.stepz"},
        BadInput{"bad_number", "--experts.quality @FIX@/tiny_edm.pt --sampler.steps many", "is not an integer"},
        BadInput{"missing_metadata", "--experts.quality @FIX@/no_metadata.pt", "parameterization"}),
    [](const auto& test) { return test.param.name; });

TEST(CliSample, UnknownKeyInConfigFile) {
  const std::string dir = testing::scratch_dir();
  std::ofstream(dir + "/bad.ini") << "[sampler]\nsteps = 4\nstepz = 3\n";
  const auto r = switchdiff(fmt::format("sample --config {}/bad.ini --experts.quality {} --output.path {}/o.h5", dir,
                                        fixture("tiny_edm.pt"), dir));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "bad.ini")) << r.output;
  EXPECT_TRUE(contains(r.output, "stepz")) << r.output;
  std::ofstream(dir + "/bad_section.ini") << "[bogus]\nsteps = 4\n";
  const auto unknown_section =
      switchdiff(fmt::format("sample --config {}/bad_section.ini --experts.quality {} "
                             "--output.path {}/o.h5",
                             dir, fixture("tiny_edm.pt"), dir));
  EXPECT_EQ(unknown_section.exit_code, 1) << unknown_section.output;
  EXPECT_TRUE(contains(unknown_section.output, "bogus.steps")) << unknown_section.output;
}

TEST(CliSample, ConfigFileIsReadAndCommandLineOverridesIt) {
  const std::string dir = testing::scratch_dir();
  // One file serves every command: [nll] and [fid] are not read by sample and are skipped.
  std::ofstream(dir + "/run.ini") << "[experts]\nquality = " << fixture("tiny_edm.pt")
                                  << "\n[sampler]\nsteps = 4\n[samples]\ncount = 3\n[nll]\ncount = 7\n"
                                     "[fid]\nbatch = 9\n";
  const auto r =
      switchdiff(fmt::format("sample --config {}/run.ini --sampler.steps 6 --output.path {}/o.h5", dir, dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string config = io::H5File::open(dir + "/o.h5", false).string_attribute("/", "config");
  EXPECT_TRUE(contains(config, "steps = 6")) << config;
  EXPECT_TRUE(contains(config, "count = 3")) << config;
  EXPECT_TRUE(contains(r.output, "NFE per sample               11")) << r.output;  // Heun: 2*6 - 1
}

TEST(CliSample, NeverOverwritesAndRejectsUnwritableOutput) {
  const std::string dir = testing::scratch_dir();
  std::ofstream(dir + "/done.h5") << "finished results";
  const auto r =
      switchdiff(fmt::format("sample --experts.quality {} --output.path {}/done.h5", fixture("tiny_edm.pt"), dir));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "never overwritten")) << r.output;
  std::ifstream in(dir + "/done.h5");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "finished results");

  std::ofstream(dir + "/a_file") << "x";
  const auto unwritable = switchdiff(
      fmt::format("sample --experts.quality {} --output.path {}/a_file/out.h5", fixture("tiny_edm.pt"), dir));
  EXPECT_EQ(unwritable.exit_code, 1) << unwritable.output;
  EXPECT_TRUE(contains(unwritable.output, "output.path")) << unwritable.output;
}

// --png follows the output rules: an existing PNG is never overwritten, and a folder that does not exist is an
// error before any work (it used to end with exit 0 and no file).
TEST(CliSample, PngIsNeverOverwrittenAndItsFolderMustExist) {
  const std::string dir = testing::scratch_dir();
  std::ofstream(dir + "/grid.png") << "precious";
  const std::string common = fmt::format("sample {} --samples.count 2 --output.path {}/s.h5", experts_args(), dir);
  const auto taken = switchdiff(fmt::format("{} --png {}/grid.png", common, dir));
  EXPECT_EQ(taken.exit_code, 1) << taken.output;
  EXPECT_TRUE(contains(taken.output, "never overwritten")) << taken.output;
  EXPECT_EQ(testing::read_text(dir + "/grid.png"), "precious");
  EXPECT_FALSE(std::filesystem::exists(dir + "/s.h5"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/s.h5.partial"));

  const auto missing = switchdiff(fmt::format("{} --png {}/missing/dir/g.png", common, dir));
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_TRUE(contains(missing.output, "missing/dir does not exist")) << missing.output;
  EXPECT_FALSE(contains(missing.output, "expert sha256")) << "refused before the experts load\n" << missing.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/s.h5"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/missing"));
}

// Seeds seed_base + i must fit in int64; a budget that cannot fit in memory or on disk is refused up front with
// what it needs (it used to run with exit 0, or end with exit 2 and only "std::bad_alloc").
TEST(CliSample, OverflowingSeedRangesAndImpossibleBudgetsExitOne) {
  const std::string dir = testing::scratch_dir();
  const auto seeds = switchdiff(
      fmt::format("sample {} --samples.seed_base 9223372036854775807 --output.path {}/a.h5", experts_args(), dir));
  EXPECT_EQ(seeds.exit_code, 1) << seeds.output;
  EXPECT_TRUE(contains(seeds.output, "exceeds the int64 maximum")) << seeds.output;
  EXPECT_TRUE(contains(seeds.output, "choose seed_base <= 9223372036854775744")) << seeds.output;  // count 64
  EXPECT_FALSE(std::filesystem::exists(dir + "/a.h5"));

  const auto budget =
      switchdiff(fmt::format("sample {} --samples.count 1000000000000 --output.path {}/b.h5", experts_args(), dir));
  EXPECT_EQ(budget.exit_code, 1) << budget.output;
  EXPECT_TRUE(contains(budget.output, "samples.count = 1000000000000 samples of 64 bytes")) << budget.output;
  EXPECT_TRUE(contains(budget.output, "6.71e+04 GiB of memory")) << budget.output;  // 10^12 * 72 bytes
  EXPECT_FALSE(std::filesystem::exists(dir + "/b.h5"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/b.h5.partial"));
}

// A bit flipped inside the largest entry of a TorchScript archive: LibTorch loads and runs it, the zip's CRC-32
// says it is damaged.
TEST(CliSample, BitFlippedExpertFileIsRefusedAsDamaged) {
  const std::string dir = testing::scratch_dir();
  testing::run_python_script(dir, "tests/cli/py/flip_expert_bit.py", {fixture("tiny_edm.pt")});
  const auto r =
      switchdiff(fmt::format("sample --experts.quality {0}/flipped.pt --samples.count 2 --output.path {0}/s.h5", dir));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, dir + "/flipped.pt: expert file is damaged")) << r.output;
  EXPECT_TRUE(contains(r.output, "CRC")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/s.h5"));
}

TEST(CliSample, RunDeviceCudaWithoutGpuExitsOneWithTheFix) {
  if (at::hasCUDA()) GTEST_SKIP() << "this LibTorch has CUDA: run.device = cuda may be valid here";
  const std::string dir = testing::scratch_dir();
  const auto r = switchdiff(
      fmt::format("sample --experts.quality {} --run.device cuda --output.path {}/o.h5", fixture("tiny_edm.pt"), dir));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "run.device = cuda")) << r.output;
  EXPECT_TRUE(contains(r.output, "run.device = cpu")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/o.h5"));
}

TEST(CliSample, HelpListsEveryKeyWithDefaults) {
  const auto r = switchdiff("sample --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* key : {"--sampler.steps", "(default: 18)", "--switch.sigma", "--samples.seed_base", "--png"}) {
    EXPECT_TRUE(contains(r.output, key)) << key;
  }
}

}  // namespace
}  // namespace switchdiff
