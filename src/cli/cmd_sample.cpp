// `switchdiff sample`: the switched sampler's budget to HDF5 (+ PNG grid), docs/sampling.md, docs/cli.md.
#include <fmt/format.h>

#include <filesystem>

#include "cli/commands.h"
#include "cli/demo_data.h"
#include "cli/settings.h"
#include "core/error.h"
#include "core/log.h"
#include "io/png_grid.h"
#include "pipeline/merged_model.h"
#include "pipeline/sample_job.h"

namespace switchdiff::cli {

Command sample_command() {
  Command c;
  c.spec.name = "sample";
  c.spec.summary =
      "Draws samples.count samples from the merged model (quality expert where sigma > switch sigma, likelihood "
      "expert below) with EDM's Heun/Euler sampler; sample i uses seed samples.seed_base + i. Writes /images "
      "uint8 [N,C,H,W] and /seeds to --output.path.";
  c.spec.sections = {"experts", "switch", "sampler", "samples", "output", "run"};
  c.spec.flags = {{"png", "also write a PNG grid of the first 64 samples to this file"}};
  c.spec.default_config = bundled_demo_config();
  c.run = [](const ParsedCommandLine& args, const dist::Communicator& comm) {
    const auto& config = args.config;
    pipeline::SampleJob job;
    job.sampler = sampler_options(config);
    const SwitchPoint point = switch_point(config, job.sampler);
    job.switch_sigma = point.sigma;
    job.switch_step = point.step;
    job.count = config.integer("samples.count");
    job.seed_base = config.integer("samples.seed_base");
    job.batch = config.integer("samples.batch");
    job.output_path = config.text("output.path");
    if (args.flags.count("png")) {
      job.png_path = args.flags.at("png");
      // Before the experts are loaded: a wrong --png must cost seconds, not a finished run.
      io::check_png_destination(*job.png_path);
      if (std::filesystem::path(*job.png_path).lexically_normal() ==
          std::filesystem::path(job.output_path).lexically_normal()) {
        throw make_error<ConfigError>("--png {} is also --output.path; give the PNG grid its own file name",
                                      *job.png_path);
      }
    }
    job.meta = {args.command_line, config.to_ini(), comm.size()};
    const pipeline::MergedModel model = merged_model(config, comm);
    job.model = &model;
    // The SHA-256 stored in the output, printed too (rank 0): a damaged or swapped model file shows at once.
    for (const auto& e : model.experts()) core::info("{:<28} {}  {}", e.role + " expert sha256", e.sha256, e.info.path);

    const auto result = pipeline::run_sample_job(comm, job);
    core::info("\n{:<28} {}", "output", job.output_path);
    core::info("{:<28} {}", "samples", result.samples);
    core::info("{:<28} {:.6g}{}", "switch sigma (eta)", job.switch_sigma,
               job.switch_step >= 0 ? fmt::format(" (grid step {})", job.switch_step) : "");
    core::info("{:<28} {:.0f}", "NFE per sample", result.nfe_per_sample);
    for (size_t band = 0; band < result.usage.size(); ++band) {
      const std::string role = result.usage.size() == 1 ? "quality" : (band == 0 ? "likelihood" : "quality");
      core::info("{:<28} {} calls, {} image evaluations (rank 0)", role + " expert", result.usage[band].calls,
                 result.usage[band].images);
    }
    core::info("{:<28} {}", "time", core::format_duration(result.seconds));
    if (job.png_path) core::info("{:<28} {}", "png grid", *job.png_path);
    return 0;
  };
  return c;
}

}  // namespace switchdiff::cli
