// `switchdiff nll`: PF-ODE bits/dim and ELBO of a test set under the merged model (docs/likelihood.md, docs/cli.md).
#include <cmath>

#include "cli/commands.h"
#include "cli/demo_data.h"
#include "cli/settings.h"
#include "core/log.h"
#include "pipeline/merged_model.h"
#include "pipeline/nll_job.h"

namespace switchdiff::cli {

Command nll_command() {
  Command c;
  c.spec.name = "nll";
  c.spec.summary =
      "Estimates the negative log-likelihood in bits/dim of the first nll.count images of nll.dataset under the "
      "merged model: probability-flow ODE (adaptive Dormand-Prince, per-image error control, split at the switch "
      "sigma), uniform dequantization, and the VDM ELBO. Writes per-image /nll_bpd, /nfe (+ /elbo_bpd) and the "
      "mean and standard error.";
  c.spec.sections = {"experts", "switch", "sampler", "nll", "output", "run"};
  c.spec.default_config = bundled_demo_config();
  c.run = [](const ParsedCommandLine& args, const dist::Communicator& comm) {
    const auto& config = args.config;
    pipeline::NllJob job;
    const auto sampler = sampler_options(config);  // switch.step indexes the sampler grid
    const SwitchPoint point = switch_point(config, sampler);
    job.switch_sigma = point.sigma;
    job.switch_step = point.step;
    job.options = likelihood_options(config);
    job.dataset_path = config.text("nll.dataset");
    job.count = config.has("nll.count") ? config.integer("nll.count") : -1;
    job.batch = config.integer("nll.batch");
    job.output_path = config.text("output.path");
    job.meta = {args.command_line, config.to_ini(), comm.size()};
    const pipeline::MergedModel model = merged_model(config, comm);
    job.model = &model;
    // The SHA-256 stored in the output, printed too (rank 0): a damaged or swapped model file shows at once.
    for (const auto& e : model.experts()) core::info("{:<28} {}  {}", e.role + " expert sha256", e.sha256, e.info.path);

    const auto s = pipeline::run_nll_job(comm, job);
    core::info("\n{:<28} {}", "output", job.output_path);
    core::info("{:<28} {}", "test images", s.images);
    core::info("{:<28} {:.6g}", "switch sigma (eta)", job.switch_sigma);
    core::info("{:<28} {:.5f} ± {:.5f}", "NLL (bits/dim)", s.nll_bpd, s.nll_bpd_stderr);
    core::info("{:<28} {:.1f}", "PF-ODE NFE per image", s.nfe_mean);
    if (!std::isnan(s.elbo_bpd)) {
      core::info("{:<28} {:.5f} ± {:.5f}", "ELBO bound (bits/dim)", s.elbo_bpd, s.elbo_bpd_stderr);
      core::info("{:<28} {:.1f}", "ELBO NFE per image", s.elbo_nfe_mean);
    }
    core::info("{:<28} {}", "time", core::format_duration(s.seconds));
    return 0;
  };
  return c;
}

}  // namespace switchdiff::cli
