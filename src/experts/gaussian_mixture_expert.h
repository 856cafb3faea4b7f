#pragma once
// Analytic Gaussian-mixture expert (docs/experts.md): data y ~ sum_k w_k N(m_k, S_k), so the noisy
// marginal is p_sigma(x) = sum_k w_k N(x; m_k, S_k + sigma^2 I) and the ideal denoiser is exact:
//   D(x; sigma) = sum_k r_k(x) [m_k + S_k (S_k + sigma^2 I)^-1 (x - m_k)],
// r_k the posterior responsibilities. Everything is computed in float64 through each S_k's
// eigendecomposition S_k = U diag(lambda) U^T, so (S_k + sigma^2 I)^-1 costs O(D^2) per image.
// Used as ground truth by the sampler, likelihood and ELBO tests.
//
// Parameter file ("gmm:" + path), whitespace separated, '#' starts a comment:
//   gmm 1
//   shape C H W
//   components K
//   then K blocks:  weight w   mean m_1 .. m_D   and one of
//                   variance v | diagonal d_1 .. d_D | covariance (D*D values, row-major)
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "experts/denoiser.h"

namespace switchdiff::experts {

class GaussianMixtureExpert final : public Denoiser {
 public:
  struct Component {
    double weight = 1.0;
    at::Tensor mean;        // float64 [D]
    at::Tensor covariance;  // float64 [D, D], symmetric positive semi-definite
  };

  GaussianMixtureExpert(ImageShape shape, std::vector<Component> components, std::string name = "gmm");
  static std::unique_ptr<GaussianMixtureExpert> from_file(const std::string& path);

  at::Tensor denoise(const at::Tensor& x, const at::Tensor& sigma) const override;
  SigmaRange trained_range() const override;
  ImageShape image_shape() const override { return shape_; }
  std::string name() const override { return name_; }

  // Exact log p_sigma(x) in nats, float64 [B]. sigma = 0 gives the data density (needs S_k > 0).
  at::Tensor log_density(const at::Tensor& x, const at::Tensor& sigma) const;
  // n exact draws from the data distribution (sigma = 0), float64 [n, C, H, W].
  at::Tensor sample(int64_t n, at::Generator generator) const;
  // Mixture mean [D] and covariance [D, D], float64.
  at::Tensor mean() const;
  at::Tensor covariance() const;
  int64_t dims() const { return shape_.dims(); }

 private:
  // Per image and component: log(w_k N(x; m_k, S_k + s^2 I)) [B, K] and, if wanted, E[y|x,k] [B, K, D].
  at::Tensor component_log_joint(const at::Tensor& x_flat, const at::Tensor& sigma,
                                 at::Tensor* conditional_means) const;

  ImageShape shape_;
  std::string name_;
  std::vector<double> log_weights_;
  std::vector<at::Tensor> means_;         // [D]
  std::vector<at::Tensor> eigenvalues_;   // [D], clamped at 0
  std::vector<at::Tensor> eigenvectors_;  // [D, D], columns
  std::vector<Component> components_;
};

}  // namespace switchdiff::experts
