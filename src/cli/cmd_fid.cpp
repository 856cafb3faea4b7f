// `switchdiff fid`: FID of samples (or their statistics) against reference statistics, docs/metrics.md, docs/cli.md.
#include <fmt/format.h>

#include "cli/commands.h"
#include "core/log.h"
#include "pipeline/fid_job.h"

namespace switchdiff::cli {

Command fid_command() {
  Command c;
  c.spec.name = "fid";
  c.spec.summary =
      "Fréchet distance between the feature statistics of --samples and fid.reference. --samples is a samples or "
      "dataset file (HDF5 /images: features are computed with fid.extractor, as `stats` does) or a statistics file "
      "(HDF5 /mu, /sigma, or .npz); fid.reference is an HDF5 statistics file or EDM's .npz (mu, sigma). Statistics "
      "of different extractors are refused. Prints `FID: <value>` (17 significant digits) and, with --output.path, "
      "writes /fid (+ /inception_score).";
  c.spec.sections = {"fid", "output", "run"};
  c.spec.flags = {{"samples", "samples or dataset file (/images), or a statistics file (/mu, /sigma, or .npz)", true}};
  c.run = [](const ParsedCommandLine& args, const dist::Communicator& comm) {
    const auto& config = args.config;
    pipeline::FidJob job;
    job.samples_path = args.flags.at("samples");
    job.reference_path = config.text("fid.reference");
    job.extractor_path = config.optional_text("fid.extractor");
    job.batch = config.integer("fid.batch");
    job.device = config.text("run.device");
    job.output_path = config.optional_text("output.path");
    job.meta = {args.command_line, config.to_ini(), comm.size()};

    const auto result = pipeline::run_fid_job(comm, job);
    core::info("\n{:<20} {}", "samples", job.samples_path);
    core::info("{:<20} {}", "reference", job.reference_path);
    core::info("{:<20} {}", "extractor", result.extractor.text());
    core::info("{:<20} {}", "metric", result.metric);
    if (result.samples_n > 0) core::info("{:<20} {}", "samples n", result.samples_n);
    if (result.reference_n > 0) core::info("{:<20} {}", "reference n", result.reference_n);
    if (result.inception_score) {
      core::info("{:<20} {:.6g} +- {:.3g} ({} splits)", "inception score", result.inception_score->mean,
                 result.inception_score->std, result.inception_score->splits);
    }
    if (job.output_path) core::info("{:<20} {}", "output", *job.output_path);
    // The line scripts parse: full double precision, always "FID: " whatever the features (the metric line
    // above names them).
    core::info("FID: {:.17g}", result.fid);
    return 0;
  };
  return c;
}

}  // namespace switchdiff::cli
