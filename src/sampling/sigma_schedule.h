#pragma once
// EDM time discretization (Karras et al. 2022, eq. 5 / Alg. 2, docs/sampling.md):
//   sigma_i = (sigma_max^(1/rho) + i/(N-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho, i < N;  sigma_N = 0.
#include <vector>

namespace switchdiff::sampling {

struct ScheduleOptions {
  int num_steps = 18;  // N: noise levels before the final sigma = 0
  double rho = 7.0;
  double sigma_min = 0.002;
  double sigma_max = 80.0;
};

// N + 1 values, descending, last one 0. Throws ConfigError for N < 1, rho <= 0 or a bad sigma range.
std::vector<double> edm_sigma_grid(const ScheduleOptions& options);

}  // namespace switchdiff::sampling
