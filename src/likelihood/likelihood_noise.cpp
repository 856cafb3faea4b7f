#include "likelihood/likelihood_noise.h"

#include <ATen/ATen.h>

namespace switchdiff::likelihood {
namespace {
std::vector<int64_t> seeds_of(const std::vector<int64_t>& indices, int64_t seed) {
  std::vector<int64_t> seeds;
  seeds.reserve(indices.size());
  for (const int64_t j : indices) seeds.push_back(seed + j);
  return seeds;
}
}  // namespace

LikelihoodNoise::LikelihoodNoise(const std::vector<int64_t>& indices, experts::ImageShape shape,
                                 const LikelihoodOptions& options)
    : stream_(seeds_of(indices, options.seed)),
      shape_(shape),
      probes_(options.ode.probes),
      probe_(options.ode.probe),
      elbo_samples_(options.elbo_options.samples) {}

RepeatNoise LikelihoodNoise::next() {
  const int64_t c = shape_.channels, h = shape_.height, w = shape_.width;
  RepeatNoise noise;
  noise.dequantization = stream_.rand({c, h, w}).to(at::kDouble);
  noise.probes =
      (probe_ == Probe::kRademacher ? stream_.rademacher({probes_, c, h, w}) : stream_.randn({probes_, c, h, w}))
          .to(at::kDouble);
  noise.elbo_uniform = stream_.rand({elbo_samples_}).to(at::kDouble);
  noise.elbo_normal = stream_.randn({elbo_samples_, c, h, w});
  ++next_repeat_;
  return noise;
}

void LikelihoodNoise::skip(int64_t n) {
  for (int64_t r = 0; r < n; ++r) next();
}

}  // namespace switchdiff::likelihood
