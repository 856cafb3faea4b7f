#pragma once
// Kernel Inception Distance (Binkowski et al. 2018, "Demystifying MMD GANs"): the unbiased estimate of
// MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3 (d = feature dimension), averaged over
// random subsets (their default: 100 subsets of 1000 samples each, drawn without replacement). Needs the
// features themselves, not just InceptionStats, so it is for runs that keep them. float64; no MPI, no I/O.
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace switchdiff::metrics {

struct KidOptions {
  int64_t num_subsets = 100;
  int64_t max_subset_size = 1000;  // subset size m = min(this, N_a, N_b)
  uint64_t seed = 0;               // subsets come from a private CPU generator: same seed, same KID
};

struct KernelInceptionDistance {
  double mean = 0.0;  // mean of the per-subset MMD^2 estimates (KID)
  double std = 0.0;   // their standard deviation (ddof = 0)
  int64_t subset_size = 0;
  int64_t num_subsets = 0;
};

// Unbiased MMD^2 between samples x [m, d] and y [n, d] (m, n >= 2; Gretton et al. 2012, eq. 3):
//   sum_{i!=j} k(x_i,x_j) / (m(m-1)) + sum_{i!=j} k(y_i,y_j) / (n(n-1)) - 2 sum_{i,j} k(x_i,y_j) / (m n).
double polynomial_mmd2_unbiased(const at::Tensor& x, const at::Tensor& y);

// KID of features a [N_a, d] and b [N_b, d]. InputError on shapes, non-finite values or fewer than 2 samples.
KernelInceptionDistance kernel_inception_distance(const at::Tensor& a, const at::Tensor& b,
                                                  const KidOptions& options = {});

}  // namespace switchdiff::metrics
