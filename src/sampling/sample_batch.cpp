#include "sampling/sample_batch.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace switchdiff::sampling {

void sample_seeds_sweep(const std::vector<std::shared_ptr<const experts::SwitchedDenoiser>>& merged,
                        const experts::Denoiser& trunk, const std::vector<int64_t>& seeds,
                        const SamplerOptions& options, const std::function<void(size_t, const SampleBatch&)>& on_point,
                        int64_t* performed_nfe) {
  at::NoGradGuard no_autograd;  // not InferenceMode: see TorchScriptExpert's probe (likelihood may follow)
  core::SeededNoise noise(seeds);
  const experts::ImageShape shape = trunk.image_shape();
  const at::Tensor latents = noise.randn({shape.channels, shape.height, shape.width});
  try {
    sample_sweep(
        merged, trunk, latents, options, noise,
        [&](size_t k, const at::Tensor& state) {
          SampleBatch out;
          out.final_state = state;
          out.images = quantize_images(state);
          out.nfe_per_sample = evaluations_per_sample(options);
          on_point(k, out);
        },
        performed_nfe);
  } catch (const InputError& e) {
    throw make_error<InputError>("{} (sample seeds {})", e.what(), noise.describe());
  }
}

at::Tensor quantize_images(const at::Tensor& y) { return (y * 127.5 + 128).clamp(0, 255).to(at::kByte); }

SampleBatch sample_seeds(const experts::Denoiser& denoiser, const std::vector<int64_t>& seeds,
                         const SamplerOptions& options) {
  at::NoGradGuard no_autograd;  // not InferenceMode: see TorchScriptExpert's probe (likelihood may follow)
  core::SeededNoise noise(seeds);
  const experts::ImageShape shape = denoiser.image_shape();
  const at::Tensor latents = noise.randn({shape.channels, shape.height, shape.width});
  SampleBatch out;
  try {
    out.final_state = sample_edm(denoiser, latents, options, noise, &out.nfe_per_sample);
  } catch (const InputError& e) {
    throw make_error<InputError>("{} (sample seeds {})", e.what(), noise.describe());
  }
  out.images = quantize_images(out.final_state);
  return out;
}

}  // namespace switchdiff::sampling
