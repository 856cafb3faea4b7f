// EDM parity (docs/sampling.md): tests/sampling/edm_reference.py, an independent Python
// implementation of EDM Alg. 2, run on the same TorchScript experts and seeds, gives the same final
// states as switchdiff's sampler within 1e-5 (before quantization), with and without a switch and churn.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "common/test_support.h"
#include "experts/switched_denoiser.h"
#include "experts/torchscript_expert.h"
#include "sampling/sample_batch.h"
#include "sampling/sigma_schedule.h"

namespace switchdiff {
namespace {

at::Tensor read_doubles(const std::string& path, at::IntArrayRef shape) {
  std::ifstream in(path, std::ios::binary);
  at::Tensor t = at::empty(shape, at::kDouble);
  in.read(reinterpret_cast<char*>(t.data_ptr<double>()), static_cast<std::streamsize>(t.numel() * sizeof(double)));
  EXPECT_TRUE(in.good()) << "short read of " << path;
  return t;
}

struct Case {
  std::string name;
  bool switched;
  double churn;
  bool euler;
};

class EdmParity : public ::testing::TestWithParam<Case> {};

TEST_P(EdmParity, MatchesPythonAlgorithmTwo) {
  const Case c = GetParam();
  const std::string fixtures = testing::tiny_fixtures_dir();
  auto likelihood = std::make_shared<experts::TorchScriptExpert>(experts::ExpertSpec{fixtures + "/tiny_edm.pt"});
  auto quality = std::make_shared<experts::TorchScriptExpert>(experts::ExpertSpec{fixtures + "/tiny_edm_b.pt"});
  sampling::SamplerOptions o;
  o.churn = c.churn;
  o.s_min = 0.05;
  o.s_max = 50;
  o.solver = c.euler ? sampling::Solver::kEuler : sampling::Solver::kHeun;
  const double eta = c.switched ? sampling::edm_sigma_grid(o.schedule)[9] : 0.0;
  auto merged = experts::SwitchedDenoiser::merge(quality, likelihood, eta);
  const std::vector<int64_t> seeds{0, 1, 2, 3, 1000, 123456789};

  const std::string dir = testing::scratch_dir();
  const std::string command = fmt::format(
      "{} {}/tests/sampling/edm_reference.py {}/ref.bin --quality {}/tiny_edm_b.pt --likelihood {}/tiny_edm.pt "
      "--switch-sigma {:.17g} --seeds 0,1,2,3,1000,123456789 --churn {} --s-min 0.05 --s-max 50 {}",
      testing::python(), testing::source_dir(), dir, fixtures, fixtures, eta, c.churn, c.euler ? "--euler" : "");
  const auto result = testing::run_command(command);
  ASSERT_EQ(result.exit_code, 0) << command << "\n" << result.output;
  const at::Tensor reference = read_doubles(dir + "/ref.bin", {6, 1, 8, 8});

  const auto ours = sampling::sample_seeds(*merged, seeds, o);
  const double max_diff = (ours.final_state - reference).abs().max().item<double>();
  EXPECT_LE(max_diff, 1e-5) << c.name;
  RecordProperty("max_abs_diff", std::to_string(max_diff));
  std::cout << c.name << ": max |ours - reference| = " << max_diff << "\n";
  if (c.switched) {
    EXPECT_GT(merged->usage(0).images, 0);
    EXPECT_GT(merged->usage(1).images, 0);
  }
  // Teeth: the reference differs from the unswitched / other-expert run, so agreement is not vacuous.
  EXPECT_GT(reference.abs().max().item<double>(), 0.1);
}

INSTANTIATE_TEST_SUITE_P(Cases, EdmParity,
                         ::testing::Values(Case{"heun", false, 0.0, false}, Case{"heun_switch", true, 0.0, false},
                                           Case{"heun_switch_churn", true, 30.0, false},
                                           Case{"euler_switch", true, 0.0, true}),
                         [](const auto& test) { return test.param.name; });

TEST(EdmParity, SwitchChangesTheSamples) {
  // If the switch were ignored, the switched and unswitched parity cases could pass with the same code.
  const std::string fixtures = testing::tiny_fixtures_dir();
  auto a = std::make_shared<experts::TorchScriptExpert>(experts::ExpertSpec{fixtures + "/tiny_edm.pt"});
  auto b = std::make_shared<experts::TorchScriptExpert>(experts::ExpertSpec{fixtures + "/tiny_edm_b.pt"});
  sampling::SamplerOptions o;
  const auto pure = sampling::sample_seeds(*experts::SwitchedDenoiser::merge(b, a, 0.0), {0, 1}, o);
  const auto mixed = sampling::sample_seeds(*experts::SwitchedDenoiser::merge(b, a, 1.0), {0, 1}, o);
  EXPECT_GT((pure.final_state - mixed.final_state).abs().max().item<double>(), 1e-3);
}

}  // namespace
}  // namespace switchdiff
