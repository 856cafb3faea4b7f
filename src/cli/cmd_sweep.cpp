// `switchdiff sweep`: the main job (docs/cli.md, docs/formats.md). For every switch sigma of the sweep: samples, FID,
// bits/dim; one results file. Without --config it runs the bundled Fashion-MNIST demo (configs/demo.ini).
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <optional>

#include "cli/commands.h"
#include "cli/demo_data.h"
#include "cli/settings.h"
#include "cli/sweep_table.h"
#include "core/error.h"
#include "core/log.h"
#include "dist/shard_plan.h"
#include "io/dataset_file.h"
#include "io/h5_file.h"
#include "pipeline/merged_model.h"
#include "pipeline/sweep_job.h"

namespace switchdiff::cli {
namespace {

// Keys that change the numbers of a sweep. Threads, the backend, the output path and the array task do not, so a
// resumed run may change them. Batch sizes set the blocks of a pass (pass.txt checks them while a pass is in
// progress); between passes they may change (float32 kernels: results agree to rounding, docs/determinism.md).
bool decides_results(const std::string& key) {
  const std::string section = key.substr(0, key.find('.'));
  if (section == "output" || section == "run") return false;
  // The point list is not part of the identity either: a finished sweep may gain new switch sigmas.
  return key != "sweep.task" && key != "sweep.keep_samples" && key != "sweep.preview_images" && key != "sweep.sigmas" &&
         key != "sweep.steps" && !(key.size() > 6 && key.compare(key.size() - 6, 6, ".batch") == 0);
}

std::string sweep_identity(const core::Config& config) {
  std::string identity;
  for (const auto& key : config.keys()) {
    if (decides_results(key.name) && config.has(key.name)) {
      identity += key.name + " = " + config.text(key.name) + "\n";
    }
  }
  return identity;
}

void print_summary(const pipeline::SweepJob& job, const pipeline::SweepOutcome& outcome) {
  const io::H5File file = io::H5File::open(job.output_path, false);
  print_sweep_table(file);
  int64_t done = 0;
  for (const auto& row : outcome.rows) done += row.status == pipeline::kDone;
  core::info("\n{:<28} {}", "results", job.output_path);
  core::info("{:<28} {}/{} points done; {} blocks computed by this run", "sweep", done, outcome.rows.size(),
             outcome.computed_blocks);
  if (file.is_group("/performed")) {
    const auto count = [&](const char* name) { return file.int_attribute("/performed", name); };
    const auto ratio = [](int64_t a, int64_t b) { return b > 0 ? fmt::format("{:.3f}", double(a) / double(b)) : "-"; };
    core::info("{:<28} sampling {} (quality {}, likelihood {}) of {} attributable: {}x", "network evaluations",
               count("sample_quality") + count("sample_likelihood"), count("sample_quality"),
               count("sample_likelihood"), count("sample_attributable"),
               ratio(count("sample_quality") + count("sample_likelihood"), count("sample_attributable")));
    core::info("{:<28} PF-ODE {} (quality {}, likelihood {}) of {}: {}x; ELBO {} of {}: {}x", "",
               count("nll_quality") + count("nll_likelihood"), count("nll_quality"), count("nll_likelihood"),
               count("nll_attributable"),
               ratio(count("nll_quality") + count("nll_likelihood"), count("nll_attributable")),
               count("elbo_quality") + count("elbo_likelihood"), count("elbo_attributable"),
               ratio(count("elbo_quality") + count("elbo_likelihood"), count("elbo_attributable")));
  }
  core::info("{:<28} {}", "time", core::format_duration(outcome.seconds));
  if (!outcome.assembled && outcome.pending_blocks > 0) {
    core::info(
        "{} blocks of the pass are still missing: other array tasks compute them, or run this command "
        "without sweep.task to compute them and assemble the results",
        outcome.pending_blocks);
  }
}

// sweep.task = "i/n".
pipeline::SweepTask sweep_task(const core::Config& config) {
  pipeline::SweepTask task;
  if (!config.has("sweep.task")) return task;
  const std::string text = config.text("sweep.task");
  const auto slash = text.find('/');
  try {
    size_t used = 0;
    task.index = std::stoll(text.substr(0, slash), &used);
    if (slash == std::string::npos || used != slash) throw std::invalid_argument(text);
    task.count = std::stoll(text.substr(slash + 1), &used);
    if (used != text.size() - slash - 1) throw std::invalid_argument(text);
  } catch (const std::exception&) {
    throw make_error<ConfigError>("sweep.task = '{}': give i/n, e.g. 3/8 for array task 3 of 8", text);
  }
  return task;
}

std::string json_number(double v) { return std::isfinite(v) ? fmt::format("{}", v) : "null"; }

// `sweep --dry-run`: what the sweep would compute, as JSON on stdout, from the binary's own rules (points from
// sweep.sigmas / sweep.steps and the sampler grid, blocks from the batch sizes), so scripts never re-derive them.
// Nothing is loaded or written. Points already done in an existing results file are marked.
void print_dry_run(const pipeline::SweepJob& job) {
  std::map<double, int64_t> status;  // switch sigma -> status in the results file
  std::error_code ec;
  if (std::filesystem::exists(job.output_path, ec)) {
    try {
      const io::H5File file = io::H5File::open(job.output_path, false);
      const auto sigmas = file.read<double>("/sweep/switch_sigma");
      const auto states = file.read<int64_t>("/sweep/status");
      for (size_t i = 0; i < sigmas.size() && i < states.size(); ++i) status[sigmas[i]] = states[i];
    } catch (const Error&) {
      // Not a results file: the real run refuses it with the reason; the dry run only describes the plan.
    }
  }
  std::optional<int64_t> test_images;
  if (job.nll_count >= 0) {
    test_images = job.nll_count;
  } else if (job.nll_dataset && std::filesystem::exists(*job.nll_dataset, ec)) {
    test_images = io::read_dataset_info(*job.nll_dataset).num_images;
  }
  const dist::ShardPlan samples(job.sample_count, job.sample_batch, 1);
  std::string points;
  for (const auto& p : job.points) {
    const auto it = status.find(p.switch_sigma);
    const bool done = it != status.end() && it->second == pipeline::kDone;
    points +=
        fmt::format("{}\n    {{\"switch_sigma\": {}, \"switch_step\": {}, \"done\": {}}}", points.empty() ? "" : ",",
                    json_number(p.switch_sigma), p.switch_step, done ? "true" : "false");
  }
  std::string images = "null";
  if (test_images) {
    const dist::ShardPlan plan(*test_images, job.nll_batch, 1);
    images =
        fmt::format("{{\"count\": {}, \"batch\": {}, \"blocks\": {}}}", *test_images, job.nll_batch, plan.num_blocks());
  }
  fmt::print(
      "{{\n  \"output\": \"{}\",\n  \"points\": [{}\n  ],\n  \"samples\": {{\"count\": {}, \"seed_base\": {}, "
      "\"batch\": {}, \"blocks\": {}}},\n  \"test_images\": {},\n  \"task\": \"{}/{}\"\n}}\n",
      job.output_path, points, job.sample_count, job.seed_base, job.sample_batch, samples.num_blocks(), images,
      job.task.index, job.task.count);
}

}  // namespace

Command sweep_command() {
  Command c;
  c.spec.name = "sweep";
  c.spec.summary =
      "Runs a switch-point sweep: for every switch sigma of sweep.sigmas (or grid index of sweep.steps), draws "
      "samples.count samples from the merged model and measures their FID against fid.reference, and the "
      "PF-ODE bits/dim (and ELBO) of nll.dataset. Writes one results file (--output.path, default "
      "results/sweep.h5): /sweep (one row per point) and /points/<k>. All points are computed in one pass that "
      "shares the trajectories they have in common. Resumes where a stopped run left off; sweep.task = i/n "
      "computes one share of the blocks (SLURM array tasks). Without --config it runs the bundled "
      "Fashion-MNIST demo.";
  c.spec.sections = {"experts", "sweep", "sampler", "samples", "nll", "fid", "output", "run"};
  c.spec.flags = {{"dry-run", "print the points and blocks the sweep would compute (JSON) and exit", false, true}};
  c.spec.default_config = bundled_demo_config();
  c.run = [](const ParsedCommandLine& args, const dist::Communicator& comm) {
    const core::Config& config = args.config;
    pipeline::SweepJob job;
    job.sampler = sampler_options(config);
    for (const SwitchPoint& p : sweep_points(config, job.sampler)) job.points.push_back({p.sigma, p.step});
    job.task = sweep_task(config);
    job.sample_count = config.integer("samples.count");
    job.seed_base = config.integer("samples.seed_base");
    job.sample_batch = config.integer("samples.batch");
    job.extractor_path = config.optional_text("fid.extractor");
    job.reference_path = config.optional_text("fid.reference");
    job.fid_batch = config.integer("fid.batch");
    job.device = config.text("run.device");
    job.nll_dataset = config.optional_text("nll.dataset");
    job.nll_count = config.has("nll.count") ? config.integer("nll.count") : -1;
    job.nll_batch = config.integer("nll.batch");
    job.nll_options = likelihood_options(config);
    job.keep_samples = config.boolean("sweep.keep_samples");
    job.preview_images = config.integer("sweep.preview_images");
    job.fid_jackknife_groups = config.integer("sweep.fid_jackknife_groups");
    job.output_path = config.optional_text("output.path")
                          .value_or(args.default_config_used ? "results/demo_sweep.h5" : "results/sweep.h5");
    job.identity = sweep_identity(config);
    job.meta = {args.command_line, config.to_ini(), comm.size()};
    if (args.flags.count("dry-run")) {
      if (comm.is_root()) print_dry_run(job);
      return 0;
    }
    if (args.default_config_used) {
      core::info(
          "no --config: running the bundled Fashion-MNIST demo ({}); FID uses the demo classifier's "
          "features, not Inception",
          args.config_file);
      ensure_demo_data(comm, *job.nll_dataset, *job.reference_path, *job.extractor_path, job.fid_batch, job.meta);
    }
    const pipeline::MergedModel model = merged_model(config, comm);
    job.model = &model;

    const auto outcome = pipeline::run_sweep_job(comm, job);
    if (comm.is_root()) print_summary(job, outcome);
    return 0;
  };
  return c;
}

}  // namespace switchdiff::cli
