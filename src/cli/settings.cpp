#include "cli/settings.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "experts/switched_denoiser.h"
#include "pipeline/compute_device.h"
#include "sampling/sigma_schedule.h"

namespace switchdiff::cli {

experts::ExpertSpec expert_spec(const core::Config& c, const std::string& role) {
  const std::string p = "experts." + role;
  experts::ExpertSpec spec;
  spec.path = c.text(p);
  spec.parameterization = c.optional_text(p + ".parameterization");
  spec.sigma_min = c.optional_number(p + ".sigma_min");
  spec.sigma_max = c.optional_number(p + ".sigma_max");
  spec.data_scale = c.optional_number(p + ".data_scale");
  spec.channels = c.optional_integer(p + ".channels");
  spec.resolution = c.optional_integer(p + ".resolution");
  return spec;
}

pipeline::MergedModel merged_model(const core::Config& c, const dist::Communicator& comm) {
  const std::optional<experts::ExpertSpec> likelihood =
      c.has("experts.likelihood") ? std::optional(expert_spec(c, "likelihood")) : std::nullopt;
  return pipeline::MergedModel(expert_spec(c, "quality"), likelihood,
                               pipeline::compute_device(comm, c.text("run.device")));
}

sampling::SamplerOptions sampler_options(const core::Config& c) {
  sampling::SamplerOptions o;
  o.solver =
      c.choice("sampler.solver", {"heun", "euler"}) == "heun" ? sampling::Solver::kHeun : sampling::Solver::kEuler;
  const int64_t steps = c.integer("sampler.steps");
  if (steps < 1 || steps > 100000) {
    throw make_error<ConfigError>("sampler.steps = {} must be between 1 and 100000", steps);
  }
  o.schedule.num_steps = static_cast<int>(steps);
  o.schedule.rho = c.number("sampler.rho");
  o.schedule.sigma_min = c.number("sampler.sigma_min");
  o.schedule.sigma_max = c.number("sampler.sigma_max");
  o.churn = c.number("sampler.churn");
  o.s_min = c.number("sampler.s_min");
  o.s_max = c.number("sampler.s_max");
  o.s_noise = c.number("sampler.s_noise");
  if (o.churn < 0) throw make_error<ConfigError>("sampler.churn = {} must be >= 0", o.churn);
  sampling::edm_sigma_grid(o.schedule);  // validates the grid options with their key names
  return o;
}

likelihood::LikelihoodOptions likelihood_options(const core::Config& c) {
  likelihood::LikelihoodOptions o;
  o.ode.rtol = c.number("nll.rtol");
  o.ode.atol = c.number("nll.atol");
  o.ode.sigma_min = c.number("nll.sigma_min");
  o.ode.sigma_max = c.number("nll.sigma_max");
  o.ode.divergence = likelihood::parse_divergence(c.text("nll.divergence"));
  o.ode.probe = likelihood::parse_probe(c.text("nll.probe"));
  o.ode.probes = c.integer("nll.probes");
  o.dequantization = likelihood::parse_dequantization(c.text("nll.dequantization"));
  o.repeats = c.integer("nll.repeats");
  o.seed = c.integer("nll.seed");
  o.elbo = c.boolean("nll.elbo");
  o.elbo_options.samples = c.integer("nll.elbo_samples");
  o.validate();
  return o;
}

SwitchPoint switch_point(const core::Config& c, const sampling::SamplerOptions& sampler) {
  const bool by_sigma = c.has("switch.sigma");
  const bool by_step = c.has("switch.step");
  if (by_sigma && by_step) {
    throw ConfigError("switch.sigma and switch.step are both set; give one (step k means eta = sigma_k of the grid)");
  }
  SwitchPoint p;
  if (by_sigma) {
    p.sigma = c.number("switch.sigma");
    experts::check_switch_sigma(p.sigma, "switch.sigma");
  } else if (by_step) {
    const auto grid = sampling::edm_sigma_grid(sampler.schedule);
    p.step = c.integer("switch.step");
    if (p.step < 0 || p.step >= static_cast<int64_t>(grid.size())) {
      throw make_error<ConfigError>(
          "switch.step = {} is out of range: the grid of sampler.steps = {} has indices 0..{}", p.step,
          sampler.schedule.num_steps, grid.size() - 1);
    }
    p.sigma = grid[static_cast<size_t>(p.step)];
  }
  return p;
}

std::vector<SwitchPoint> sweep_points(const core::Config& c, const sampling::SamplerOptions& sampler) {
  const auto grid = sampling::edm_sigma_grid(sampler.schedule);
  std::vector<SwitchPoint> points;
  if (c.has("sweep.sigmas") && c.has("sweep.steps")) {
    throw ConfigError("sweep.sigmas and sweep.steps are both set; give one");
  }
  if (c.has("sweep.sigmas")) {
    for (const double s : c.number_list("sweep.sigmas")) {
      experts::check_switch_sigma(s, "a switch sigma of sweep.sigmas");
      points.push_back({s, -1});
    }
  } else if (c.has("sweep.steps")) {
    if (c.text("sweep.steps") == "all") {
      // Every grid index k, eta = sigma_k: k = 0 (eta = sigma_max) is the likelihood expert alone and
      // k = N (eta = 0) the quality expert alone, so both pure experts are included.
      for (size_t k = 0; k < grid.size(); ++k) points.push_back({grid[k], static_cast<int64_t>(k)});
    } else {
      for (const double k : c.number_list("sweep.steps")) {
        if (k != std::floor(k) || k < 0 || k >= static_cast<double>(grid.size())) {
          throw make_error<ConfigError>("sweep.steps contains {}: grid indices are integers 0..{}", k, grid.size() - 1);
        }
        points.push_back({grid[static_cast<size_t>(k)], static_cast<int64_t>(k)});
      }
    }
  } else {
    throw ConfigError("no sweep points: set sweep.sigmas (e.g. 0, 0.06, 0.3, 1.0, 80) or sweep.steps (all | 0,5,9)");
  }
  if (points.empty()) throw ConfigError("the sweep has no points");
  return points;
}

}  // namespace switchdiff::cli
