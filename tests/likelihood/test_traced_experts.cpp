// Experts of the kinds users export: a Fourier-feature VDM network traced (its frequencies are a graph
// constant) and its scripted twin. The likelihood differentiates through them after they have already run
// without autograd (the expert's load-time probe, and a sweep's sampling blocks before its likelihood blocks),
// so constants created in a first call must stay usable by autograd.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "common/test_support.h"
#include "experts/torchscript_expert.h"
#include "likelihood/likelihood_estimate.h"
#include "sampling/sample_batch.h"

namespace switchdiff {
namespace {

likelihood::LikelihoodEstimate sample_then_likelihood(const std::string& file, likelihood::Divergence divergence) {
  const experts::TorchScriptExpert expert({testing::tiny_fixtures_dir() + "/" + file});
  sampling::SamplerOptions sampler;
  sampler.schedule.num_steps = 4;
  const at::Tensor images = sampling::sample_seeds(expert, {0, 1, 2}, sampler).images;
  likelihood::LikelihoodOptions options;
  options.ode.rtol = options.ode.atol = 1e-3;
  options.ode.divergence = divergence;
  options.elbo = true;
  options.elbo_options.samples = 8;
  return likelihood::estimate_likelihood(expert, images, {0, 1, 2}, options);
}

TEST(TracedExperts, LikelihoodAfterSamplingEqualsTheScriptedTwin) {
  for (const auto divergence : {likelihood::Divergence::kHutchinson, likelihood::Divergence::kExact}) {
    const auto traced = sample_then_likelihood("tiny_vdm_traced.pt", divergence);
    const auto scripted = sample_then_likelihood("tiny_vdm_fourier.pt", divergence);
    ASSERT_TRUE(at::isfinite(traced.nll_bpd).all().item<bool>());
    ASSERT_TRUE(at::isfinite(traced.elbo_bpd).all().item<bool>());
    // The same weights and operations; tracing may fuse differently, so float32 rounding is allowed.
    EXPECT_LT((traced.nll_bpd - scripted.nll_bpd).abs().max().item<double>(), 1e-4);
    EXPECT_LT((traced.elbo_bpd - scripted.elbo_bpd).abs().max().item<double>(), 1e-4);
  }
}

}  // namespace
}  // namespace switchdiff
