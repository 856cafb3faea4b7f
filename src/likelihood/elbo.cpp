#include "likelihood/elbo.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <stdexcept>

#include "core/error.h"
#include "likelihood/dequantization.h"
#include "likelihood/elbo_estimator.h"

namespace switchdiff::likelihood {
namespace {

constexpr double kLogTwoPi = 1.8378770664093453;  // ln(2 pi)

// Per-image sum of squares, ||y||^2 / (2 sigma_max^2).
at::Tensor prior_nats(const at::Tensor& y_flat, double sigma_max) {
  const int64_t batch = y_flat.size(0), d = y_flat.size(1);
  at::Tensor out = at::empty({batch}, at::kDouble);
  const double* ys = y_flat.data_ptr<double>();
  for (int64_t i = 0; i < batch; ++i) {
    double sq = 0;
    for (int64_t j = 0; j < d; ++j) sq += ys[i * d + j] * ys[i * d + j];
    out.data_ptr<double>()[i] = sq / (2 * sigma_max * sigma_max);
  }
  return out;
}

ElboTerms assemble(at::Tensor prior, DiffusionTerm diffusion, at::Tensor reconstruction, int64_t dims) {
  ElboTerms t;
  t.prior = std::move(prior);
  t.diffusion = diffusion.value;
  t.diffusion_stderr = diffusion.standard_error;
  t.reconstruction = std::move(reconstruction);
  t.total = t.prior + t.diffusion + t.reconstruction;
  t.nfe = diffusion.nfe;
  t.dims = dims;
  return t;
}

void check_data(const experts::Denoiser& denoiser, const at::Tensor& y, const at::Tensor& uniform,
                const at::Tensor& normal) {
  const experts::ImageShape shape = denoiser.image_shape();
  if (y.dim() != 4 || y.size(1) != shape.channels || y.size(2) != shape.height || y.size(3) != shape.width) {
    throw make_error<InputError>("ELBO: data of shape {} do not match {}, which expects {}",
                                 fmt::format("{}", fmt::join(y.sizes(), "x")), denoiser.name(), shape.str());
  }
  if (uniform.dim() != 2 || uniform.size(0) != y.size(0) || normal.dim() != 5 || normal.size(0) != y.size(0) ||
      normal.size(1) != uniform.size(1) || normal[0][0].sizes() != y[0].sizes()) {
    throw std::invalid_argument("ELBO: uniform must be [B, M] and normal [B, M, C, H, W] for data [B, C, H, W]");
  }
}

}  // namespace

at::Tensor ElboTerms::bpd() const { return total / (static_cast<double>(dims) * std::log(2.0)); }
at::Tensor ElboTerms::bpd_stderr() const { return diffusion_stderr / (static_cast<double>(dims) * std::log(2.0)); }

DiffusionTerm elbo_diffusion_term(const experts::Denoiser& denoiser, const at::Tensor& y, double sigma_lo,
                                  double sigma_hi, const at::Tensor& uniform, const at::Tensor& normal,
                                  const ElboOptions& options) {
  options.validate();
  check_data(denoiser, y, uniform, normal);
  if (!(sigma_lo > 0) || !(sigma_hi >= sigma_lo)) {
    throw make_error<ConfigError>("ELBO: the noise range [{}, {}] is not allowed: need 0 < sigma_lo <= sigma_hi",
                                  sigma_lo, sigma_hi);
  }
  const int64_t batch = y.size(0), d = y[0].numel(), nodes = uniform.size(1);
  if (nodes != options.samples) {
    throw std::invalid_argument("elbo_diffusion_term: uniform must have ElboOptions::samples columns");
  }
  const at::Tensor y_flat = y.to(at::kCPU).to(at::kDouble).reshape({batch, d}).contiguous();
  const at::Tensor u = uniform.to(at::kCPU).to(at::kDouble).contiguous();
  if (std::log(sigma_hi) - std::log(sigma_lo) == 0 || batch == 0) return elbo_sum({}, batch, 0, sigma_lo, sigma_hi);

  std::vector<double> g(static_cast<size_t>(batch * nodes));
  at::NoGradGuard no_grad;
  at::Tensor sigma, x, n;
  for (int64_t m = 0; m < nodes; ++m) {
    elbo_node(y_flat, u, normal, m, sigma_lo, sigma_hi, sigma, x, n);
    const at::Tensor denoised =
        denoiser.denoise(x.reshape(y.sizes()), sigma).to(at::kCPU).to(at::kDouble).reshape({batch, d}).contiguous();
    for (int64_t i = 0; i < batch; ++i) {
      const double sigma_i = sigma.data_ptr<double>()[i];
      const double value = elbo_integrand(y_flat.data_ptr<double>() + i * d, denoised.data_ptr<double>() + i * d,
                                          n.data_ptr<double>() + i * d, d, sigma_i, options.sigma_data);
      if (!std::isfinite(value)) {
        throw make_error<InputError>(
            "image {} of the batch: non-finite ELBO integrand at sigma = {:.6g} from {}; "
            "check the expert near this noise level",
            i, sigma_i, denoiser.name());
      }
      g[i * nodes + m] = value;
    }
  }
  return elbo_sum(g, batch, nodes, sigma_lo, sigma_hi);
}

void elbo_node(const at::Tensor& y, const at::Tensor& uniform, const at::Tensor& normal, int64_t m, double sigma_lo,
               double sigma_hi, at::Tensor& sigma, at::Tensor& x, at::Tensor& noise) {
  const int64_t batch = y.size(0), d = y.size(1), nodes = uniform.size(1);
  const double log_lo = std::log(sigma_lo), length = std::log(sigma_hi) - log_lo;
  noise = normal.select(1, m).to(at::kCPU).to(at::kDouble).reshape({batch, d}).contiguous();
  sigma = at::empty({batch}, at::kDouble);
  x = at::empty({batch, d}, at::kDouble);
  const double* ys = y.data_ptr<double>();
  const double* us = uniform.data_ptr<double>();
  const double* ns = noise.data_ptr<double>();
  double* ss = sigma.data_ptr<double>();
  double* xs = x.data_ptr<double>();
  for (int64_t i = 0; i < batch; ++i) {
    const double position = (static_cast<double>(m) + us[i * nodes + m]) / static_cast<double>(nodes);
    ss[i] = std::clamp(std::exp(log_lo + position * length), sigma_lo, sigma_hi);
    for (int64_t j = 0; j < d; ++j) xs[i * d + j] = ys[i * d + j] + ss[i] * ns[i * d + j];
  }
}

double elbo_integrand(const double* y, const double* denoised, const double* noise, int64_t d, double sigma,
                      double sigma_data) {
  const double s_d2 = sigma_data * sigma_data;
  double residual = 0, noise_sq = 0;
  for (int64_t j = 0; j < d; ++j) {
    const double r = y[j] - denoised[j];
    residual += r * r;
    noise_sq += noise[j] * noise[j];
  }
  const double s2 = sigma * sigma;
  const double beta = s_d2 > 0 ? std::pow(s_d2 / (s_d2 + s2), 2) : 0.0;
  return (residual - beta * s2 * (noise_sq - static_cast<double>(d))) / s2;
}

DiffusionTerm elbo_sum(const std::vector<double>& g, int64_t batch, int64_t nodes, double sigma_lo, double sigma_hi) {
  DiffusionTerm out;
  out.value = at::zeros({batch}, at::kDouble);
  out.standard_error = at::zeros({batch}, at::kDouble);
  out.nfe = at::zeros({batch}, at::kLong);
  if (nodes == 0) return out;
  const double weight = (std::log(sigma_hi) - std::log(sigma_lo)) / static_cast<double>(nodes);
  for (int64_t i = 0; i < batch; ++i) {
    double sum = 0, pair_sq = 0;
    for (int64_t m = 0; m < nodes; ++m) sum += g[i * nodes + m];
    for (int64_t m = 0; m + 1 < nodes; m += 2) pair_sq += std::pow(g[i * nodes + m] - g[i * nodes + m + 1], 2);
    out.value.data_ptr<double>()[i] = weight * sum;
    out.standard_error.data_ptr<double>()[i] = weight * std::sqrt(pair_sq);
    out.nfe.data_ptr<int64_t>()[i] = nodes;
  }
  return out;
}

at::Tensor discrete_reconstruction_nats(double sigma) {
  static std::mutex mutex;
  static std::map<double, at::Tensor> cache;
  std::lock_guard<std::mutex> lock(mutex);
  if (const auto it = cache.find(sigma); it != cache.end()) return it->second;
  // -log p(k | x_0) with x_0 = g_k + sigma n is log sum_j exp(-n D_j - D_j^2 / 2), D_j = (g_k - g_j) / sigma
  // (the j = k term is 1). Its N(0, 1) expectation by the trapezoid rule on n in [-10, 10], step 0.01
  // (exponentially accurate for this smooth integrand); terms with |D_j| > 30 are below e^-200 of the j = k term.
  constexpr double kStep = 0.01;
  constexpr int kPoints = 2001;
  const double spacing = kPixelSpacing;  // the training grid x_k = k/127.5 - 1 (dequantization.h)
  const int window = static_cast<int>(std::min(255.0, std::ceil(30.0 * sigma / spacing) + 1));
  at::Tensor table = at::empty({256}, at::kDouble);
  std::vector<double> terms;
  for (int k = 0; k < 256; ++k) {
    double expectation = 0;
    for (int p = 0; p < kPoints; ++p) {
      const double n = -10.0 + kStep * p;
      const double weight = kStep * std::exp(-0.5 * n * n - 0.5 * kLogTwoPi);
      terms.clear();
      double largest = 0;  // the j = k term's exponent
      for (int j = std::max(0, k - window); j <= std::min(255, k + window); ++j) {
        const double delta = (k - j) * spacing / sigma;
        terms.push_back(-n * delta - 0.5 * delta * delta);
        largest = std::max(largest, terms.back());
      }
      double sum = 0;
      for (const double t : terms) sum += std::exp(t - largest);
      expectation += weight * (largest + std::log(sum));
    }
    table.data_ptr<double>()[k] = expectation;
  }
  cache.emplace(sigma, table);
  return table;
}

ElboTerms elbo_discrete(const experts::Denoiser& denoiser, const at::Tensor& images, const at::Tensor& uniform,
                        const at::Tensor& normal, double sigma_min, double sigma_max, const ElboOptions& options) {
  check_images(images, denoiser, "ELBO");
  DiffusionTerm diffusion =
      elbo_diffusion_term(denoiser, pixel_bin_centres(images), sigma_min, sigma_max, uniform, normal, options);
  return elbo_discrete_terms(images, std::move(diffusion), sigma_min, sigma_max);
}

ElboTerms elbo_discrete_terms(const at::Tensor& images, DiffusionTerm diffusion, double sigma_min, double sigma_max) {
  const int64_t batch = images.size(0), d = images[0].numel();
  const at::Tensor y = pixel_bin_centres(images);
  const at::Tensor table = discrete_reconstruction_nats(sigma_min);
  const at::Tensor pixels = images.to(at::kCPU).reshape({batch, d}).contiguous();
  at::Tensor reconstruction = at::empty({batch}, at::kDouble);
  for (int64_t i = 0; i < batch; ++i) {
    double sum = 0;
    for (int64_t j = 0; j < d; ++j) sum += table.data_ptr<double>()[pixels.data_ptr<uint8_t>()[i * d + j]];
    reconstruction.data_ptr<double>()[i] = sum;
  }
  return assemble(prior_nats(y.reshape({batch, d}).contiguous(), sigma_max), std::move(diffusion),
                  std::move(reconstruction), d);
}

ElboTerms elbo_continuous(const experts::Denoiser& denoiser, const at::Tensor& y, const at::Tensor& uniform,
                          const at::Tensor& normal, double sigma_min, double sigma_max, const ElboOptions& options) {
  DiffusionTerm diffusion = elbo_diffusion_term(denoiser, y, sigma_min, sigma_max, uniform, normal, options);
  const int64_t batch = y.size(0), d = y[0].numel();
  // E[-log N(y; y + sigma_min n, sigma_min^2 I)] = D/2 log(2 pi sigma_min^2) + E||n||^2 / 2.
  const double gaussian = 0.5 * static_cast<double>(d) * (kLogTwoPi + 2 * std::log(sigma_min) + 1.0);
  const at::Tensor y_flat = y.to(at::kCPU).to(at::kDouble).reshape({batch, d}).contiguous();
  return assemble(prior_nats(y_flat, sigma_max), std::move(diffusion), at::full({batch}, gaussian, at::kDouble), d);
}

}  // namespace switchdiff::likelihood
