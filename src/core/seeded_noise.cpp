#include "core/seeded_noise.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <mutex>

namespace switchdiff::core {

SeededNoise::SeededNoise(std::vector<int64_t> seeds) : seeds_(std::move(seeds)) {
  generators_.reserve(seeds_.size());
  for (const int64_t seed : seeds_) {
    // torch.Generator().manual_seed(s) takes the seed as uint64; EDM passes seed % 2^32.
    generators_.push_back(at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed)));
  }
}

SeededNoise SeededNoise::clone() const {
  SeededNoise copy(*this);
  for (auto& generator : copy.generators_) {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator = generator.clone();
  }
  return copy;
}

namespace {
template <class Draw>
at::Tensor stack_draws(std::vector<at::Generator>& generators, Draw draw) {
  std::vector<at::Tensor> rows;
  rows.reserve(generators.size());
  // at::randn & co. lock the generator's mutex themselves.
  for (auto& generator : generators) rows.push_back(draw(generator));
  return at::stack(rows);
}
}  // namespace

at::Tensor SeededNoise::randn(at::IntArrayRef per_sample_shape, at::ScalarType dtype) {
  return stack_draws(generators_, [&](at::Generator& g) { return at::randn(per_sample_shape, g, dtype); });
}

at::Tensor SeededNoise::rand(at::IntArrayRef per_sample_shape) {
  return stack_draws(generators_, [&](at::Generator& g) { return at::rand(per_sample_shape, g); });
}

at::Tensor SeededNoise::rademacher(at::IntArrayRef per_sample_shape) {
  return stack_draws(generators_,
                     [&](at::Generator& g) { return at::randint(0, 2, per_sample_shape, g, at::kFloat) * 2 - 1; });
}

std::string SeededNoise::describe() const {
  std::string list;
  const size_t shown = std::min<size_t>(seeds_.size(), 8);
  for (size_t i = 0; i < shown; ++i) list += (i ? ", " : "") + std::to_string(seeds_[i]);
  if (shown < seeds_.size()) list += fmt::format(", ... ({} seeds)", seeds_.size());
  return list;
}

std::vector<int64_t> consecutive_seeds(int64_t base, int64_t count) {
  std::vector<int64_t> seeds(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) seeds[static_cast<size_t>(i)] = base + i;
  return seeds;
}

}  // namespace switchdiff::core
