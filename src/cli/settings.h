#pragma once
// Config -> the options structs of the math and pipeline modules. Value errors name the key.
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "dist/communicator.h"
#include "experts/torchscript_expert.h"
#include "likelihood/likelihood_options.h"
#include "pipeline/merged_model.h"
#include "sampling/edm_sampler.h"

namespace switchdiff::cli {

experts::ExpertSpec expert_spec(const core::Config& config, const std::string& role);  // "quality" | "likelihood"
sampling::SamplerOptions sampler_options(const core::Config& config);
// The experts of [experts] (likelihood optional), loaded on this rank's run.device.
pipeline::MergedModel merged_model(const core::Config& config, const dist::Communicator& comm);
likelihood::LikelihoodOptions likelihood_options(const core::Config& config);

// The switch sigma eta from switch.sigma or switch.step (index into the sampler grid; eta = sigma_k).
// Returns {eta, step or -1}. Neither given: eta = 0 (quality expert alone). Both: ConfigError.
struct SwitchPoint {
  double sigma = 0.0;
  int64_t step = -1;
};
SwitchPoint switch_point(const core::Config& config, const sampling::SamplerOptions& sampler);

// Sweep points from sweep.sigmas or sweep.steps ('all' = every grid index 0..N plus both pure experts).
std::vector<SwitchPoint> sweep_points(const core::Config& config, const sampling::SamplerOptions& sampler);

}  // namespace switchdiff::cli
