#include "metrics/fid_jackknife.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "metrics/frechet_distance.h"

namespace switchdiff::metrics {

double jackknife_stderr(const std::vector<double>& leave_one_out) {
  const size_t g = leave_one_out.size();
  if (g < 2) return std::numeric_limits<double>::quiet_NaN();
  double mean = 0;
  for (double x : leave_one_out) mean += x / static_cast<double>(g);
  double sum_squares = 0;
  for (double x : leave_one_out) sum_squares += (x - mean) * (x - mean);
  return std::sqrt(static_cast<double>(g - 1) / static_cast<double>(g) * sum_squares);
}

FidJackknife jackknife_fid(const std::vector<InceptionStats>& groups, const at::Tensor& reference_mu,
                           const at::Tensor& reference_sigma) {
  if (groups.size() < 2) {
    throw make_error<InputError>("the FID jackknife needs at least 2 groups of samples, got {}", groups.size());
  }
  FidJackknife result;
  for (size_t left_out = 0; left_out < groups.size(); ++left_out) {
    // Sum the other groups directly (not total minus group g): no cancellation in sum f f^T.
    InceptionStats rest(groups.front().feature_dim(), groups.front().sum().device());
    for (size_t g = 0; g < groups.size(); ++g) {
      if (g != left_out) rest += groups[g];
    }
    result.leave_one_out.push_back(
        frechet_distance(rest.mean().cpu(), rest.covariance().cpu(), reference_mu.cpu(), reference_sigma.cpu()));
  }
  result.standard_error = jackknife_stderr(result.leave_one_out);
  return result;
}

}  // namespace switchdiff::metrics
