#pragma once
// Options of the likelihood estimators (docs/likelihood.md, docs/cli.md [nll]); each default is defined here and only
// here. validate() throws ConfigError with what is wrong, the value, what is allowed and how to fix it.
#include <cstdint>
#include <string>

namespace switchdiff::likelihood {

// How div f of the PF-ODE drift is computed (docs/likelihood.md).
enum class Divergence {
  kHutchinson,  // Hutchinson-Skilling trace estimator, K probes fixed per trajectory, one VJP per probe
  kExact,       // exact trace of the Jacobian, one VJP per dimension (small images and tests only)
};
// Distribution of the Hutchinson probes.
enum class Probe {
  kRademacher,  // +1/-1 with probability 1/2 each (score_sde's default)
  kGaussian,    // N(0, I)
};

// How an 8-bit pixel k becomes a continuous value y for the PF-ODE density (docs/likelihood.md, dequantization.h,
// docs/likelihood.md). The ELBO needs none: it is evaluated on the training grid itself.
enum class Dequantization {
  kGrid,      // "grid": y = (k + u - 1/2)/127.5 - 1, bins of width 2/255 centred on the experts' training grid
              // k/127.5 - 1, offset log2(127.5); for a VDM expert i-DODE's 2(k + u)/256 - 1 in VDM coordinates, +7
  kScoreSde,  // "score_sde": y = (k + u) * 2/256 - 1, bins of width 2/256, offset 7 (score_sde's tables)
};

std::string to_string(Divergence d);
std::string to_string(Probe p);
std::string to_string(Dequantization d);
// Parse the INI / flag spelling ("hutchinson" | "exact", "rademacher" | "gaussian", "grid" | "score_sde");
// ConfigError naming the key, the value and the allowed values otherwise.
Divergence parse_divergence(const std::string& text);
Probe parse_probe(const std::string& text);
Dequantization parse_dequantization(const std::string& text);

// The probability-flow ODE dx/dsigma = (x - D(x; sigma)) / sigma from sigma_min to sigma_max, solved by
// Dormand-Prince 5(4) with per-image error control (dopri5.h).
struct PfOdeOptions {
  double sigma_min = 0.002;  // lower limit of the ODE; recorded with results (docs/likelihood.md)
  double sigma_max = 80.0;   // upper limit; the prior is N(0, sigma_max^2 I)
  double rtol = 1e-5;
  double atol = 1e-5;
  Divergence divergence = Divergence::kHutchinson;
  Probe probe = Probe::kRademacher;
  int64_t probes = 1;         // K: Hutchinson probes per image (each costs one VJP per drift evaluation)
  int64_t max_steps = 20000;  // attempted steps (accepted + rejected) per image and integration, then InputError
  double min_step = 0.0;      // absolute lower bound on the step in sigma; the solver also never goes below 10 ulp
                              // of sigma (scipy's RK45 rule); a smaller step is an InputError naming image and sigma
  void validate() const;
};

// The continuous-time ELBO of Kingma et al. 2021 in the variance-exploding parameterization (elbo.h).
struct ElboOptions {
  int64_t samples = 64;     // stratified log-sigma nodes per image (= NFE per image); even, >= 2
  double sigma_data = 0.5;  // scale of the control variate for the chi-square noise of ||n||^2 (0 = off)
  void validate() const;
};

// A full per-image likelihood evaluation: dequantization, PF-ODE bits/dim, optionally the ELBO, `repeats`
// passes with fresh dequantization and probes (likelihood_estimate.h).
struct LikelihoodOptions {
  PfOdeOptions ode;
  bool elbo = true;
  ElboOptions elbo_options;
  // PF-ODE bins (nll.dequantization); the ELBO always uses the training grid.
  Dequantization dequantization = Dequantization::kGrid;
  int64_t repeats = 1;  // passes over the images, averaged (score_sde uses 5)
  int64_t seed = 0;     // nll_seed: image j draws its noise from a generator seeded with seed + j
  void validate() const;
};

}  // namespace switchdiff::likelihood
