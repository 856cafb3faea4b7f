#pragma once
// Fréchet distance between two Gaussians N(mu1, Sigma1), N(mu2, Sigma2) (Dowson & Landau 1982), i.e. FID
// (Heusel et al. 2017) when mu/Sigma are Inception feature statistics (docs/metrics.md):
//
//   FID = |mu1 - mu2|^2 + tr(Sigma1) + tr(Sigma2) - 2 tr((Sigma1^1/2 Sigma2 Sigma1^1/2)^1/2)
//
// Computed in float64 on the CPU with symmetric eigendecompositions only (no complex numbers, no sqrtm),
// so rank-deficient covariances (n <= F) give a real, finite value. Inputs: mu [F], Sigma [F, F] symmetric
// positive semi-definite, any floating dtype/device. Eigenvalues below the rounding floor
// (dim * eps * largest, numpy's matrix_rank tolerance) are treated as 0. When the two Gaussians coincide
// the result is 0 up to rounding and may be slightly negative (like pytorch-fid and EDM's fid.py, no clamp).
// InputError on mismatched shapes, non-finite values or a non-symmetric Sigma.
#include <ATen/core/Tensor.h>

namespace switchdiff::metrics {

class InceptionStats;

double frechet_distance(const at::Tensor& mu1, const at::Tensor& sigma1, const at::Tensor& mu2,
                        const at::Tensor& sigma2);

// FID of two sets of accumulated statistics (each needs n >= 2).
double frechet_distance(const InceptionStats& a, const InceptionStats& b);

// tr((Sigma1^1/2 Sigma2 Sigma1^1/2)^1/2): the cross term alone, exposed for tests and diagnostics.
double trace_sqrt_product(const at::Tensor& sigma1, const at::Tensor& sigma2);

}  // namespace switchdiff::metrics
