#include "cli/config_keys.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "core/log.h"
#include "likelihood/likelihood_options.h"
#include "pipeline/compute_device.h"
#include "pipeline/fid_job.h"
#include "pipeline/nll_job.h"
#include "pipeline/sample_job.h"
#include "pipeline/stats_job.h"
#include "pipeline/sweep_job.h"
#include "sampling/edm_sampler.h"

namespace switchdiff::cli {
namespace {

using core::boolean_value;
using core::input_file;
using core::integer_in;
using core::number_in;
using core::one_of;

std::string num(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{}", v);
}
std::string num(int64_t v) { return std::to_string(v); }

constexpr double kInf = std::numeric_limits<double>::infinity();
// Counts and sizes: at least 1, and small enough that products with image sizes cannot overflow int64.
constexpr double kMaxCount = 1e12;
// Seeds are int64; seed + index must not overflow (pipeline/sample_job.cpp checks the sum).
constexpr double kMaxSeed = 9223372036854775807.0;  // int64 max (rounds to 2^63)
// nll_seed + j (and the repeat's offset) stays far from the int64 maximum for any test set (< kMaxCount images).
constexpr double kMaxNllSeed = 9e18;

void experts_keys(core::Config& c) {
  c.declare({"experts.quality", "", "quality expert (TorchScript file or gmm:FILE), used where sigma > switch sigma"});
  c.declare({"experts.likelihood", "", "likelihood expert, used where sigma <= switch sigma (default: quality alone)"});
  for (const char* role : {"quality", "likelihood"}) {
    const std::string p = fmt::format("experts.{}.", role);
    c.declare({p + "parameterization", "", "edm | vdm; overrides the file's attribute", one_of({"edm", "vdm"})});
    c.declare({p + "sigma_min", "", "trained sigma_min; overrides the file's attribute", number_in(0)});
    c.declare({p + "sigma_max", "", "trained sigma_max; overrides the file's attribute", number_in(0)});
    c.declare({p + "data_scale", "", "VDM pixel scale c (default 127.5/128 for vdm, 1 for edm)", number_in(1e-6)});
    c.declare({p + "channels", "", "image channels; overrides the file's attribute", integer_in(1, 4096)});
    c.declare({p + "resolution", "", "image resolution; overrides the file's attribute", integer_in(1, 65536)});
  }
}

void sampler_keys(core::Config& c) {
  const sampling::SamplerOptions d;
  c.declare({"sampler.solver", d.solver == sampling::Solver::kHeun ? "heun" : "euler", "heun | euler",
             one_of({"heun", "euler"})});
  c.declare({"sampler.steps", std::to_string(d.schedule.num_steps), "N: noise levels of the EDM grid",
             integer_in(1, 100000)});
  c.declare({"sampler.rho", num(d.schedule.rho), "EDM grid exponent rho", number_in(1e-6)});
  c.declare({"sampler.sigma_min", num(d.schedule.sigma_min), "lowest nonzero noise level of the grid", number_in(0)});
  c.declare(
      {"sampler.sigma_max", num(d.schedule.sigma_max), "highest noise level (initial noise scale)", number_in(0)});
  c.declare({"sampler.churn", num(d.churn), "S_churn (0 = deterministic)", number_in(0)});
  c.declare({"sampler.s_min", num(d.s_min), "S_min: churn only where sigma >= s_min", number_in(0, kInf, true)});
  c.declare({"sampler.s_max", num(d.s_max), "S_max: churn only where sigma <= s_max", number_in(0, kInf, true)});
  c.declare({"sampler.s_noise", num(d.s_noise), "S_noise: churn noise scale", number_in(0)});
}

void nll_keys(core::Config& c) {
  const likelihood::LikelihoodOptions d;
  c.declare({"nll.dataset", "", "dataset file (HDF5 /images uint8 [N,C,H,W], see `switchdiff prepare`)", input_file()});
  c.declare(
      {"nll.count", "", "first N test images (all if absent; 0 in a sweep: no bits/dim)", integer_in(0, kMaxCount)});
  c.declare({"nll.batch", num(pipeline::NllJob{}.batch), "images per solver batch (results do not depend on it)",
             integer_in(1, 1e6)});
  c.declare({"nll.rtol", num(d.ode.rtol), "relative tolerance of Dormand-Prince", number_in(1e-300)});
  c.declare({"nll.atol", num(d.ode.atol), "absolute tolerance of Dormand-Prince", number_in(1e-300)});
  c.declare(
      {"nll.sigma_min", num(d.ode.sigma_min), "lower limit of the PF-ODE (recorded with results)", number_in(1e-300)});
  c.declare({"nll.sigma_max", num(d.ode.sigma_max), "upper limit of the PF-ODE; prior N(0, sigma_max^2 I)",
             number_in(1e-300)});
  c.declare({"nll.divergence", likelihood::to_string(d.ode.divergence), "hutchinson | exact",
             one_of({"hutchinson", "exact"})});
  c.declare(
      {"nll.probe", likelihood::to_string(d.ode.probe), "rademacher | gaussian", one_of({"rademacher", "gaussian"})});
  c.declare({"nll.dequantization", likelihood::to_string(d.dequantization),
             "PF-ODE bins: grid (centred on the training grid k/127.5 - 1, + log2 127.5) | score_sde ((k + u) 2/256 "
             "- 1, + 7); docs/likelihood.md",
             one_of({"grid", "score_sde"})});
  c.declare({"nll.probes", std::to_string(d.ode.probes), "Hutchinson probes per image", integer_in(1, 1e6)});
  c.declare({"nll.repeats", std::to_string(d.repeats), "passes over the test set, averaged (score_sde: 5)",
             integer_in(1, 1e6)});
  c.declare({"nll.seed", std::to_string(d.seed), "nll_seed: image j uses seed + j for dequantization and probes",
             integer_in(0, kMaxNllSeed)});
  c.declare({"nll.elbo", d.elbo ? "true" : "false", "also estimate the VDM ELBO", boolean_value()});
  c.declare({"nll.elbo_samples", std::to_string(d.elbo_options.samples), "log-sigma nodes per image for the ELBO",
             integer_in(1, 1e6)});
}

}  // namespace

bool is_known_section(const std::string& section) {
  for (const char* known : {"experts", "switch", "sweep", "sampler", "samples", "nll", "fid", "output", "run"}) {
    if (section == known) return true;
  }
  return false;
}

void declare_sections(core::Config& c, const std::vector<std::string>& sections) {
  for (const auto& s : sections) {
    if (s == "experts") {
      experts_keys(c);
    } else if (s == "switch") {
      c.declare(
          {"switch.sigma", "", "switch sigma eta: quality expert where sigma > eta (0 = quality alone)", number_in(0)});
      c.declare({"switch.step", "", "switch at grid index k instead: eta = sigma_k of the sampler grid",
                 integer_in(0, 100000)});
    } else if (s == "sweep") {
      const pipeline::SweepJob sweep;
      c.declare(
          {"sweep.sigmas", "", "explicit list of switch sigmas, e.g. 0, 0.06, 0.3, 1.0, 80", core::number_list_in(0)});
      c.declare({"sweep.steps", "", "'all' (every grid index and both pure experts) or a list of grid indices"});
      c.declare({"sweep.task", "",
                 "i/n: compute only the i-th of n equal ranges of the budget's blocks (SLURM array "
                 "task i of n); the run that finds every block done assembles the results"});
      c.declare({"sweep.keep_samples", sweep.keep_samples ? "true" : "false",
                 "also write every point's samples to <output>.samples/point_<k>.h5 (else only the preview "
                 "images are kept)",
                 boolean_value()});
      c.declare({"sweep.preview_images", num(sweep.preview_images), "samples per point stored in /points/<k>/images",
                 integer_in(0, 1e6)});
      c.declare({"sweep.fid_jackknife_groups", num(sweep.fid_jackknife_groups),
                 "FID standard error by a jackknife over this many seed groups "
                 "(0: none; one more extractor pass)",
                 integer_in(0, 1e6)});
    } else if (s == "sampler") {
      sampler_keys(c);
    } else if (s == "samples") {
      const pipeline::SampleJob samples;
      c.declare({"samples.count", num(samples.count), "number of samples (FID: 50000; 0 in a sweep: no FID)",
                 integer_in(0, kMaxCount)});
      c.declare(
          {"samples.seed_base", num(samples.seed_base), "sample i uses seed seed_base + i", integer_in(0, kMaxSeed)});
      c.declare(
          {"samples.batch", num(samples.batch), "samples per batch (results do not depend on it)", integer_in(1, 1e6)});
    } else if (s == "nll") {
      nll_keys(c);
    } else if (s == "fid") {
      c.declare({"fid.extractor", "", "feature extractor (TorchScript: uint8 [B,3,H,W] -> [B,F])", input_file()});
      c.declare({"fid.reference", "", "reference statistics: HDF5 (/mu, /sigma, /n) or EDM .npz", input_file()});
      c.declare(
          {"fid.batch", num(pipeline::FeatureStatsOptions{}.batch), "images per extractor batch", integer_in(1, 1e6)});
    } else if (s == "output") {
      c.declare({"output.path", "", "output HDF5 file"});
    } else if (s == "run") {
      c.declare({"run.threads", "0", "CPU threads per rank for LibTorch (0 = cores / ranks on this node)",
                 integer_in(0, 4096)});
      c.declare({"run.progress_seconds", num(core::kDefaultProgressSeconds),
                 "seconds between progress lines in a log file (on a terminal the line updates in place)",
                 number_in(0)});
      c.declare({"run.backend", "auto", "communicator: auto | serial | mpi | nccl",
                 one_of({"auto", "serial", "mpi", "nccl"})});
      c.declare({"run.device", pipeline::kAutoDevice,
                 "where networks run: auto (the rank's GPU when LibTorch has CUDA and one is "
                 "visible) | cpu | cuda",
                 one_of({"auto", "cpu", "cuda"})});
    }
  }
}

}  // namespace switchdiff::cli
