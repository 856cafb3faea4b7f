#include "cli/config_keys.h"

#include <fmt/format.h>

#include <cmath>

#include "likelihood/likelihood_options.h"
#include "sampling/edm_sampler.h"

namespace switchdiff::cli {
namespace {

std::string num(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{}", v);
}

void experts_keys(core::Config& c) {
  c.declare({"experts.quality", "", "quality expert (TorchScript file or gmm:FILE), used where sigma > switch sigma"});
  c.declare({"experts.likelihood", "", "likelihood expert, used where sigma <= switch sigma (default: quality alone)"});
  for (const char* role : {"quality", "likelihood"}) {
    const std::string p = fmt::format("experts.{}.", role);
    c.declare({p + "parameterization", "", "edm | vdm; overrides the file's attribute"});
    c.declare({p + "sigma_min", "", "trained sigma_min; overrides the file's attribute"});
    c.declare({p + "sigma_max", "", "trained sigma_max; overrides the file's attribute"});
    c.declare({p + "data_scale", "", "VDM pixel scale c (default 127.5/128 for vdm, 1 for edm)"});
    c.declare({p + "channels", "", "image channels; overrides the file's attribute"});
    c.declare({p + "resolution", "", "image resolution; overrides the file's attribute"});
  }
}

void sampler_keys(core::Config& c) {
  const sampling::SamplerOptions d;
  c.declare({"sampler.solver", d.solver == sampling::Solver::kHeun ? "heun" : "euler", "heun | euler"});
  c.declare({"sampler.steps", std::to_string(d.schedule.num_steps), "N: noise levels of the EDM grid"});
  c.declare({"sampler.rho", num(d.schedule.rho), "EDM grid exponent rho"});
  c.declare({"sampler.sigma_min", num(d.schedule.sigma_min), "lowest nonzero noise level of the grid"});
  c.declare({"sampler.sigma_max", num(d.schedule.sigma_max), "highest noise level (initial noise scale)"});
  c.declare({"sampler.churn", num(d.churn), "S_churn (0 = deterministic)"});
  c.declare({"sampler.s_min", num(d.s_min), "S_min: churn only where sigma >= s_min"});
  c.declare({"sampler.s_max", num(d.s_max), "S_max: churn only where sigma <= s_max"});
  c.declare({"sampler.s_noise", num(d.s_noise), "S_noise: churn noise scale"});
}

void nll_keys(core::Config& c) {
  const likelihood::LikelihoodOptions d;
  c.declare({"nll.dataset", "", "dataset file (HDF5 /images uint8 [N,C,H,W], see `switchdiff prepare`)"});
  c.declare({"nll.count", "", "first N test images (all if absent)"});
  c.declare({"nll.batch", "16", "images per solver batch (results do not depend on it)"});
  c.declare({"nll.rtol", num(d.ode.rtol), "relative tolerance of Dormand-Prince"});
  c.declare({"nll.atol", num(d.ode.atol), "absolute tolerance of Dormand-Prince"});
  c.declare({"nll.sigma_min", num(d.ode.sigma_min), "lower limit of the PF-ODE (recorded with results)"});
  c.declare({"nll.sigma_max", num(d.ode.sigma_max), "upper limit of the PF-ODE; prior N(0, sigma_max^2 I)"});
  c.declare({"nll.divergence", likelihood::to_string(d.ode.divergence), "hutchinson | exact"});
  c.declare({"nll.probe", likelihood::to_string(d.ode.probe), "rademacher | gaussian"});
  c.declare({"nll.dequantization", likelihood::to_string(d.dequantization),
             "PF-ODE bins: grid (centred on the training grid k/127.5 - 1, + log2 127.5) | score_sde ((k + u) 2/256 "
             "- 1, + 7); docs/likelihood.md"});
  c.declare({"nll.probes", std::to_string(d.ode.probes), "Hutchinson probes per image"});
  c.declare({"nll.repeats", std::to_string(d.repeats), "passes over the test set, averaged (score_sde: 5)"});
  c.declare({"nll.seed", std::to_string(d.seed), "nll_seed: image j uses seed + j for dequantization and probes"});
  c.declare({"nll.elbo", d.elbo ? "true" : "false", "also estimate the VDM ELBO"});
  c.declare({"nll.elbo_samples", std::to_string(d.elbo_options.samples), "log-sigma nodes per image for the ELBO"});
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
      c.declare({"switch.sigma", "", "switch sigma eta: quality expert where sigma > eta (0 = quality alone)"});
      c.declare({"switch.step", "", "switch at grid index k instead: eta = sigma_k of the sampler grid"});
    } else if (s == "sweep") {
      c.declare({"sweep.sigmas", "", "explicit list of switch sigmas, e.g. 0, 0.06, 0.3, 1.0, 80"});
      c.declare({"sweep.steps", "", "'all' (every grid index and both pure experts) or a list of grid indices"});
      c.declare({"sweep.task", "", "i/n: compute only the i-th of n equal ranges of the budget's blocks (SLURM array "
                                   "task i of n); the run that finds every block done assembles the results"});
      c.declare({"sweep.keep_samples", "false",
                 "also write every point's samples to <output>.samples/point_<k>.h5 (else only the preview "
                 "images are kept)"});
      c.declare({"sweep.preview_images", "16", "samples per point stored in /points/<k>/images"});
      c.declare({"sweep.fid_jackknife_groups", "10",
                 "FID standard error by a jackknife over this many seed groups "
                 "(0: none; one more extractor pass)"});
    } else if (s == "sampler") {
      sampler_keys(c);
    } else if (s == "samples") {
      c.declare({"samples.count", "64", "number of samples (FID: 50000)"});
      c.declare({"samples.seed_base", "0", "sample i uses seed seed_base + i"});
      c.declare({"samples.batch", "64", "samples per batch (results do not depend on it)"});
    } else if (s == "nll") {
      nll_keys(c);
    } else if (s == "fid") {
      c.declare({"fid.extractor", "", "feature extractor (TorchScript: uint8 [B,3,H,W] -> [B,F])"});
      c.declare({"fid.reference", "", "reference statistics: HDF5 (/mu, /sigma, /n) or EDM .npz"});
      c.declare({"fid.batch", "64", "images per extractor batch"});
    } else if (s == "output") {
      c.declare({"output.path", "", "output HDF5 file"});
    } else if (s == "run") {
      c.declare({"run.threads", "0", "CPU threads per rank for LibTorch (0 = cores / ranks on this node)"});
      c.declare({"run.progress_seconds", "30",
                 "seconds between progress lines in a log file (on a terminal the line updates in place)"});
      c.declare({"run.backend", "auto", "communicator: auto | serial | mpi | nccl"});
      c.declare({"run.device", "auto",
                 "where networks run: auto (the rank's GPU when LibTorch has CUDA and one is "
                 "visible) | cpu | cuda"});
    }
  }
}

}  // namespace switchdiff::cli
