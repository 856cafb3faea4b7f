// TorchScript experts (docs/experts.md): metadata, the vdm adapter against the exact mixture, and every way a
// model file can be wrong. Fixtures come from tests/fixtures/make_tiny_experts.py.
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include "common/test_support.h"
#include "core/error.h"
#include "experts/expert_loader.h"
#include "experts/gaussian_mixture_expert.h"
#include "experts/torchscript_expert.h"

namespace switchdiff {
namespace {

using experts::ExpertSpec;
using experts::TorchScriptExpert;

std::string fixture(const std::string& name) { return testing::tiny_fixtures_dir() + "/" + name; }

// Runs `load` and returns the InputError's message; fails the test if nothing or something else is thrown.
template <class Fn>
std::string input_error_of(Fn load) {
  try {
    load();
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected InputError, got: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected InputError, nothing thrown";
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(TorchScriptExpert, ReadsMetadataFromAttributes) {
  TorchScriptExpert expert({fixture("tiny_edm.pt")});
  EXPECT_EQ(expert.info().parameterization, experts::Parameterization::kEdm);
  EXPECT_DOUBLE_EQ(expert.trained_range().min, 0.002);
  EXPECT_DOUBLE_EQ(expert.trained_range().max, 80.0);
  EXPECT_EQ(expert.image_shape().str(), "1x8x8");
  EXPECT_DOUBLE_EQ(expert.info().data_scale, 1.0);
  TorchScriptExpert vdm({fixture("tiny_vdm.pt")});
  EXPECT_EQ(vdm.info().parameterization, experts::Parameterization::kVdm);
  EXPECT_DOUBLE_EQ(vdm.info().data_scale, 127.5 / 128.0);
}

TEST(TorchScriptExpert, ConfigOverridesAttributesAndFillsMissingOnes) {
  ExpertSpec spec{fixture("tiny_edm.pt")};
  spec.sigma_min = 0.01;
  EXPECT_DOUBLE_EQ(TorchScriptExpert(spec).trained_range().min, 0.01);

  const std::string message = input_error_of([&] { TorchScriptExpert({fixture("no_metadata.pt")}); });
  EXPECT_TRUE(contains(message, "parameterization")) << message;
  EXPECT_TRUE(contains(message, "config")) << message;

  ExpertSpec full{fixture("no_metadata.pt")};
  full.parameterization = "edm";
  full.sigma_min = 0.002;
  full.sigma_max = 80;
  full.channels = 1;
  full.resolution = 8;
  TorchScriptExpert from_config(full);
  TorchScriptExpert from_attributes({fixture("tiny_edm.pt")});
  const at::Tensor x = at::randn({3, 1, 8, 8}, at::kDouble);
  const at::Tensor sigma = at::tensor({0.01, 1.0, 30.0}, at::kDouble);
  EXPECT_TRUE(at::equal(from_config.denoise(x, sigma), from_attributes.denoise(x, sigma)));
}

TEST(TorchScriptExpert, VdmAdapterOfExactMixtureIsExact) {
  // gmm_eps_vdm.pt predicts eps(z, gamma) of gmm_small.txt; the adapter must give back the exact D.
  TorchScriptExpert vdm({fixture("gmm_eps_vdm.pt")});
  auto exact = experts::GaussianMixtureExpert::from_file(fixture("gmm_small.txt"));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  for (double s : {0.002, 0.05, 0.5, 3.0, 80.0}) {
    const at::Tensor sigma = at::full({32}, s, at::kDouble);
    const at::Tensor x = exact->sample(32, gen) + s * at::randn({32, 1, 2, 2}, gen, at::kDouble);
    const at::Tensor error = (vdm.denoise(x, sigma) - exact->denoise(x, sigma)).abs().max();
    // float32 network I/O: eps carries ~1e-7 relative error, times sigma in D = x - sigma*eps.
    EXPECT_LT(error.item<double>(), 2e-6 * std::max(1.0, s) * (1 + x.abs().max().item<double>())) << "sigma " << s;
  }
  // Without the data scale the adapter is measurably wrong where the likelihood expert works (docs/experts.md).
  ExpertSpec unscaled{fixture("gmm_eps_vdm.pt")};
  unscaled.data_scale = 1.0;
  TorchScriptExpert wrong(unscaled);
  const at::Tensor x = exact->sample(32, gen) + 0.05 * at::randn({32, 1, 2, 2}, gen, at::kDouble);
  const at::Tensor sigma = at::full({32}, 0.05, at::kDouble);
  EXPECT_GT((wrong.denoise(x, sigma) - exact->denoise(x, sigma)).abs().max().item<double>(), 1e-4);
}

// GPU execution (run.device): the network runs on the GPU, x and D stay on the caller's device, and autograd
// (the PF-ODE divergence) flows through the transfers. Runs where LibTorch has CUDA and a GPU is visible.
TEST(TorchScriptExpert, CudaExpertMatchesCpuExpert) {
  if (!at::hasCUDA()) GTEST_SKIP() << "LibTorch without CUDA (Debian's libtorch-dev): GPU path not testable here";
  TorchScriptExpert cpu({fixture("tiny_edm.pt")});
  TorchScriptExpert gpu({fixture("tiny_edm.pt")}, c10::Device(c10::kCUDA, 0));
  const at::Tensor x = at::randn({4, 1, 8, 8}, at::kDouble).requires_grad_(true);
  const at::Tensor sigma = at::tensor({0.01, 0.3, 2.0, 40.0}, at::kDouble);
  const at::Tensor d_gpu = gpu.denoise(x, sigma);
  EXPECT_EQ(d_gpu.device(), x.device());
  EXPECT_EQ(d_gpu.scalar_type(), at::kDouble);
  EXPECT_LT((d_gpu - cpu.denoise(x, sigma)).abs().max().item<double>(), 1e-5);
  const at::Tensor grad = torch::autograd::grad({d_gpu.sum()}, {x})[0];
  EXPECT_TRUE(grad.defined() && grad.abs().sum().item<double>() > 0);
}

TEST(TorchScriptExpert, MissingFile) {
  const std::string message = input_error_of([] { TorchScriptExpert({"/nonexistent/model.pt"}); });
  EXPECT_TRUE(contains(message, "/nonexistent/model.pt")) << message;
  EXPECT_TRUE(contains(message, "not found")) << message;
}

TEST(TorchScriptExpert, NotTorchScriptAndTruncatedFiles) {
  for (const char* name : {"not_torchscript.pt", "truncated.pt"}) {
    const std::string message = input_error_of([&] { TorchScriptExpert({fixture(name)}); });
    EXPECT_TRUE(contains(message, name)) << message;
    EXPECT_TRUE(contains(message, "TorchScript")) << message;
  }
}

TEST(TorchScriptExpert, WrongSignature) {
  const std::string message = input_error_of([] { TorchScriptExpert({fixture("bad_signature.pt")}); });
  EXPECT_TRUE(contains(message, "bad_signature.pt")) << message;
  EXPECT_TRUE(contains(message, "forward(x, sigma)")) << message;
}

TEST(TorchScriptExpert, WrongOutputShape) {
  const std::string message = input_error_of([] { TorchScriptExpert({fixture("bad_shape.pt")}); });
  EXPECT_TRUE(contains(message, "bad_shape.pt")) << message;
  EXPECT_TRUE(contains(message, "1x1x4x4")) << message;
}

TEST(TorchScriptExpert, UnknownParameterization) {
  ExpertSpec spec{fixture("tiny_edm.pt")};
  spec.parameterization = "ddpm";
  const std::string message = input_error_of([&] { TorchScriptExpert{spec}; });
  EXPECT_TRUE(contains(message, "'ddpm'")) << message;
}

}  // namespace
}  // namespace switchdiff
