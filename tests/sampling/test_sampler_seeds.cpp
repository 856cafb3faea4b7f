// A sample depends only on its seed and the config (docs/sampling.md): not on batch size or batch-mates, and
// its initial noise is exactly torch.randn([C,H,W], generator=torch.Generator().manual_seed(seed)).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <fstream>

#include "common/test_support.h"
#include "core/error.h"
#include "core/seeded_noise.h"
#include "experts/gmm_helpers.h"
#include "experts/switched_denoiser.h"
#include "experts/torchscript_expert.h"
#include "sampling/sample_batch.h"

namespace switchdiff {
namespace {

at::Tensor sample_in_batches(const experts::Denoiser& d, int64_t count, int64_t batch,
                             const sampling::SamplerOptions& o) {
  std::vector<at::Tensor> parts;
  for (int64_t start = 0; start < count; start += batch) {
    parts.push_back(
        sampling::sample_seeds(d, core::consecutive_seeds(start, std::min(batch, count - start)), o).final_state);
  }
  return at::cat(parts);
}

TEST(SamplerSeeds, SameSampleForBatchSizes1_7_64WithExactExpert) {
  auto gmm = testing::random_mixture({1, 2, 2}, 3, 5);
  sampling::SamplerOptions o;
  o.churn = 10;  // churn noise must come from each sample's own stream too
  const at::Tensor b64 = sample_in_batches(*gmm, 64, 64, o);
  EXPECT_TRUE(at::equal(b64, sample_in_batches(*gmm, 64, 1, o)));
  EXPECT_TRUE(at::equal(b64, sample_in_batches(*gmm, 64, 7, o)));
}

TEST(SamplerSeeds, SameSampleForBatchSizes1_7_64WithTorchScriptExpert) {
  experts::TorchScriptExpert net({testing::tiny_fixtures_dir() + "/tiny_edm.pt"});
  sampling::SamplerOptions o;
  o.schedule.num_steps = 8;
  o.churn = 10;
  const at::Tensor b64 = sample_in_batches(net, 64, 64, o);
  // float32 convolution kernels may block differently by batch size; the states agree to float32 rounding.
  EXPECT_LT((b64 - sample_in_batches(net, 64, 1, o)).abs().max().item<double>(), 1e-5);
  EXPECT_LT((b64 - sample_in_batches(net, 64, 7, o)).abs().max().item<double>(), 1e-5);
}

TEST(SamplerSeeds, InitialNoiseMatchesTorchGenerator) {
  const std::string dir = testing::scratch_dir();
  const std::vector<int64_t> seeds{0, 1, 42, 2147483655LL, 4294967295LL};
  std::ofstream(dir + "/noise.py")
      << "import torch, numpy as np\n"
         "out=[]\n"
         "for s in [0, 1, 42, 2147483655, 4294967295]:\n"
         "    out.append(torch.randn([1,8,8], generator=torch.Generator().manual_seed(s)))\n"
         "    out.append(torch.randn([3,4,4], generator=torch.Generator().manual_seed(s)))\n"
         "torch.cat([o.reshape(-1) for o in out]).numpy().astype('<f4').tofile('"
      << dir << "/noise.bin')\n";
  const auto result = testing::run_command(testing::python() + " " + dir + "/noise.py");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::ifstream in(dir + "/noise.bin", std::ios::binary);
  for (const int64_t seed : seeds) {
    for (const auto& shape : {std::vector<int64_t>{1, 8, 8}, std::vector<int64_t>{3, 4, 4}}) {
      core::SeededNoise noise({seed});
      const at::Tensor ours = noise.randn(shape).reshape(-1).contiguous();
      std::vector<float> theirs(static_cast<size_t>(ours.numel()));
      in.read(reinterpret_cast<char*>(theirs.data()), static_cast<std::streamsize>(theirs.size() * sizeof(float)));
      ASSERT_TRUE(in.good());
      for (int64_t i = 0; i < ours.numel(); ++i) {
        ASSERT_EQ(ours[i].item<float>(), theirs[static_cast<size_t>(i)]) << "seed " << seed << " element " << i;
      }
    }
  }
}

TEST(SamplerSeeds, IdenticalExpertsSwitchedEqualSingleExpertBitwise) {
  experts::TorchScriptExpert raw({testing::tiny_fixtures_dir() + "/tiny_edm.pt"});
  auto shared =
      std::make_shared<experts::TorchScriptExpert>(experts::ExpertSpec{testing::tiny_fixtures_dir() + "/tiny_edm.pt"});
  sampling::SamplerOptions o;
  const auto single = sampling::sample_seeds(*shared, {3, 4, 5}, o);
  for (double eta : {0.0, 0.5, 1.0, 80.0}) {
    auto merged = experts::SwitchedDenoiser::merge(shared, shared, eta);
    EXPECT_TRUE(at::equal(single.final_state, sampling::sample_seeds(*merged, {3, 4, 5}, o).final_state)) << eta;
  }
}

TEST(SamplerSeeds, QuantizationTruncatesLikeEdmGenerate) {
  const at::Tensor y = at::tensor({-1.5, -1.0, -0.00001, 0.0, 0.5, 0.99, 1.0, 2.0}, at::kDouble);
  const at::Tensor q = sampling::quantize_images(y);
  // y*127.5+128: -63.25->0, 0.5->0, 127.99->127, 128->128, 191.75->191, 254.225->254, 255.5->255, 383->255
  const std::vector<int> expected{0, 0, 127, 128, 191, 254, 255, 255};
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(q[static_cast<int64_t>(i)].item<uint8_t>(), expected[i]) << i;
}

TEST(SamplerSeeds, NonFiniteExpertOutputNamesSeeds) {
  auto nan = std::make_shared<experts::TorchScriptExpert>(
      experts::ExpertSpec{testing::tiny_fixtures_dir() + "/nan_output.pt"});
  sampling::SamplerOptions o;
  try {
    sampling::sample_seeds(*experts::SwitchedDenoiser::merge(nan, nan, 0.0), {17, 18}, o);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("nan_output.pt"), std::string::npos) << what;
    EXPECT_NE(what.find("17, 18"), std::string::npos) << what;
    EXPECT_NE(what.find("sigma = 0."), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace switchdiff
