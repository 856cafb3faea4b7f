#include "sampling/sample_batch.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/error.h"

namespace switchdiff::sampling {

at::Tensor quantize_images(const at::Tensor& y) { return (y * 127.5 + 128).clamp(0, 255).to(at::kByte); }

SampleBatch sample_seeds(const experts::Denoiser& denoiser, const std::vector<int64_t>& seeds,
                         const SamplerOptions& options) {
  c10::InferenceMode no_autograd;
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
