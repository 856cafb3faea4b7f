#include "likelihood/likelihood_options.h"

#include <cmath>

#include "core/error.h"

namespace switchdiff::likelihood {

std::string to_string(Divergence d) { return d == Divergence::kExact ? "exact" : "hutchinson"; }
std::string to_string(Probe p) { return p == Probe::kGaussian ? "gaussian" : "rademacher"; }
std::string to_string(Dequantization d) { return d == Dequantization::kScoreSde ? "score_sde" : "grid"; }

Divergence parse_divergence(const std::string& text) {
  if (text == "hutchinson") return Divergence::kHutchinson;
  if (text == "exact") return Divergence::kExact;
  throw make_error<ConfigError>("nll.divergence = '{}' is not allowed: use hutchinson or exact", text);
}

Probe parse_probe(const std::string& text) {
  if (text == "rademacher") return Probe::kRademacher;
  if (text == "gaussian") return Probe::kGaussian;
  throw make_error<ConfigError>("nll.probe = '{}' is not allowed: use rademacher or gaussian", text);
}

Dequantization parse_dequantization(const std::string& text) {
  if (text == "grid") return Dequantization::kGrid;
  if (text == "score_sde") return Dequantization::kScoreSde;
  throw make_error<ConfigError>(
      "nll.dequantization = '{}' is not allowed: use grid (bins centred on the experts' training grid "
      "k/127.5 - 1, the default) or score_sde (score_sde's bins (k + u) * 2/256 - 1, offset 7); see "
      "docs/likelihood.md",
      text);
}

void PfOdeOptions::validate() const {
  if (!(sigma_min > 0) || !std::isfinite(sigma_max) || !(sigma_min < sigma_max)) {
    throw make_error<ConfigError>(
        "sigma_min = {} and sigma_max = {} are not allowed: the PF-ODE needs "
        "0 < sigma_min < sigma_max < inf (defaults 0.002 and 80)",
        sigma_min, sigma_max);
  }
  if (!(rtol > 0) || !std::isfinite(rtol)) {
    throw make_error<ConfigError>("nll.rtol = {} is not allowed: it must be a finite number > 0 (default 1e-5)", rtol);
  }
  if (!(atol > 0) || !std::isfinite(atol)) {
    throw make_error<ConfigError>("nll.atol = {} is not allowed: it must be a finite number > 0 (default 1e-5)", atol);
  }
  if (probes < 1) {
    throw make_error<ConfigError>("nll.probes = {} is not allowed: use at least 1 Hutchinson probe", probes);
  }
  if (max_steps < 1) throw make_error<ConfigError>("nll.max_steps = {} is not allowed: it must be >= 1", max_steps);
  if (!(min_step >= 0) || !std::isfinite(min_step)) {
    throw make_error<ConfigError>("nll.min_step = {} is not allowed: it must be finite and >= 0", min_step);
  }
}

void ElboOptions::validate() const {
  if (samples < 2 || samples % 2 != 0) {
    throw make_error<ConfigError>(
        "nll.elbo_samples = {} is not allowed: the stratified ELBO estimator needs an "
        "even number >= 2 of log-sigma nodes per image (its standard error pairs them)",
        samples);
  }
  if (!(sigma_data >= 0) || !std::isfinite(sigma_data)) {
    throw make_error<ConfigError>(
        "nll.elbo_sigma_data = {} is not allowed: it must be finite and >= 0 (0 turns the "
        "control variate off)",
        sigma_data);
  }
}

void LikelihoodOptions::validate() const {
  ode.validate();
  if (elbo) elbo_options.validate();
  if (repeats < 1) throw make_error<ConfigError>("nll.repeats = {} is not allowed: it must be >= 1", repeats);
  if (seed < 0) throw make_error<ConfigError>("nll.seed = {} is not allowed: it must be >= 0", seed);
}

}  // namespace switchdiff::likelihood
