#pragma once
// Standard error of an FID by the delete-a-group jackknife (Efron & Tibshirani 1993, An Introduction to the
// Bootstrap, §11.5): the samples are cut into G groups (by seed, so two sweep points share the grouping and
// their FID difference gets a paired error); FID_(-g) is the FID of all samples but group g against the fixed
// reference, and
//   SE = sqrt((G - 1) / G * sum_g (FID_(-g) - mean_g FID_(-g))^2).
// The reference statistics are treated as exact (they come from a separate, usually larger, set).
// Math only: no MPI, no I/O.
#include <ATen/core/Tensor.h>

#include <vector>

#include "metrics/inception_stats.h"

namespace switchdiff::metrics {

struct FidJackknife {
  std::vector<double> leave_one_out;  // FID_(-g), g = 0..G-1
  double standard_error = 0.0;        // SE of the full-sample FID
};

// groups: the statistics of G >= 2 disjoint groups of samples (each with n >= 1, and n >= 2 without any one
// group). reference_mu [F], reference_sigma [F, F]. InputError on fewer than 2 groups or mismatched F.
FidJackknife jackknife_fid(const std::vector<InceptionStats>& groups, const at::Tensor& reference_mu,
                           const at::Tensor& reference_sigma);

// sqrt((G - 1) / G * sum (x_g - mean x)^2): the jackknife standard error of leave-one-out values x_g; also for
// differences of two estimators computed on the same groups (a paired comparison). NaN for fewer than 2 values.
double jackknife_stderr(const std::vector<double>& leave_one_out);

}  // namespace switchdiff::metrics
