#pragma once
// One batch of the sample budget (docs/sampling.md): sample i uses seed seed_base + i, its own generator draws
// the initial noise sigma_0 * n (float32 randn [C,H,W], as torch.randn with a per-seed Generator)
// and any churn noise. Output: EDM generate.py's quantization uint8(clip(y*127.5 + 128, 0, 255)).
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "experts/denoiser.h"
#include "sampling/edm_sampler.h"
#include "sampling/sweep_sampler.h"

namespace switchdiff::sampling {

struct SampleBatch {
  at::Tensor images;       // uint8 [B,C,H,W]
  at::Tensor final_state;  // float64 [B,C,H,W], before quantization
  int64_t nfe_per_sample = 0;
};

// Samples the given seeds. A non-finite expert output is rethrown as an InputError that also names the
// batch's seeds.
SampleBatch sample_seeds(const experts::Denoiser& denoiser, const std::vector<int64_t>& seeds,
                         const SamplerOptions& options);

// The same seeds at every point of a sweep (sampling/sweep_sampler.h): on_point(k, batch) for every point k, with
// batch.nfe_per_sample = the evaluations point k would cost alone. performed_nfe (per image), when given, is
// increased by the evaluations the sweep performed.
void sample_seeds_sweep(const std::vector<std::shared_ptr<const experts::SwitchedDenoiser>>& merged,
                        const experts::Denoiser& trunk, const std::vector<int64_t>& seeds,
                        const SamplerOptions& options, const std::function<void(size_t, const SampleBatch&)>& on_point,
                        int64_t* performed_nfe = nullptr);

// EDM generate.py: (y * 127.5 + 128).clip(0, 255).to(uint8) — truncation, not rounding.
at::Tensor quantize_images(const at::Tensor& y);

}  // namespace switchdiff::sampling
