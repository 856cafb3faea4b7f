// `switchdiff stats`: feature statistics (mu, sigma, n and the raw sums) of a dataset or samples file,
// docs/metrics.md, docs/cli.md. Sharded over ranks; the result does not depend on the rank count
// (pipeline/stats_job.h).
#include <fmt/format.h>

#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"
#include "pipeline/fid_job.h"
#include "pipeline/stats_job.h"

namespace switchdiff::cli {

Command stats_command() {
  Command c;
  c.spec.name = "stats";
  c.spec.summary =
      "Feature statistics of a dataset or samples file (HDF5 /images) with fid.extractor. Writes /mu, /sigma "
      "(unbiased), /n and the raw sums /sum, /sum_outer (so statistics files can be merged), plus the Inception "
      "Score (10 splits) when the extractor has logits. The output is a reference for `switchdiff fid`.";
  c.spec.sections = {"fid", "output", "run"};
  c.spec.flags = {{"dataset", "dataset or samples file (HDF5 /images uint8 [N,C,H,W])", true},
                  {"count", "use the first N images only (default: all)"}};
  c.run = [](const ParsedCommandLine& args, const dist::Communicator& comm) {
    const auto& config = args.config;
    pipeline::StatsJob job;
    job.dataset_path = args.flags.at("dataset");
    job.extractor_path = config.text("fid.extractor");
    if (args.flags.count("count")) {
      try {
        job.count = std::stoll(args.flags.at("count"));
      } catch (const std::exception&) {
        throw make_error<ConfigError>("--count {} is not an integer", args.flags.at("count"));
      }
    }
    job.options.batch = config.integer("fid.batch");
    job.device = config.text("run.device");
    job.options.progress_label = "stats";
    job.output_path = config.text("output.path");
    job.meta = {args.command_line, config.to_ini(), comm.size()};

    const auto result = pipeline::run_stats_job(comm, job);
    const auto& s = result.statistics;
    core::info("\n{:<20} {}", "output", job.output_path);
    core::info("{:<20} {}", "images", s.n);
    core::info("{:<20} {}", "extractor", s.extractor.text());
    core::info("{:<20} {}  {}", "extractor sha256", s.extractor.sha256, s.extractor.path);  // as stored
    core::info("{:<20} {}", "feature dim", s.feature_dim());
    if (s.inception_score) {
      core::info("{:<20} {:.6g} +- {:.3g} ({} splits)", "inception score", s.inception_score->mean,
                 s.inception_score->std, s.inception_score->splits);
    }
    core::info("{:<20} {}", "time", core::format_duration(result.seconds));
    return 0;
  };
  return c;
}

}  // namespace switchdiff::cli
