#include "likelihood/likelihood_test_util.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <stdexcept>

namespace switchdiff::testing {

TestMixture make_test_mixture(uint64_t seed, int components, double scale) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t d = 4;
  TestMixture m;
  for (int k = 0; k < components; ++k) {
    experts::GaussianMixtureExpert::Component c;
    c.weight = 1.0 + k;  // unequal weights
    c.mean = at::rand({d}, g, at::kDouble) * 1.2 - 0.6;
    const at::Tensor a = at::randn({d, d}, g, at::kDouble) * scale;
    c.covariance = at::matmul(a, a.t()) + 0.01 * at::eye(d, at::kDouble);
    c.covariance = 0.5 * (c.covariance + c.covariance.t());
    m.components.push_back(c);
  }
  m.expert = std::make_shared<experts::GaussianMixtureExpert>(experts::ImageShape{1, 2, 2}, m.components,
                                                              fmt::format("gmm-test-{}", seed));
  return m;
}

void reference_mixture_drift(const TestMixture& mixture, const at::Tensor& x, double sigma, at::Tensor* denoised,
                             at::Tensor* trace) {
  const int64_t d = x.size(1);
  const at::Tensor eye = at::eye(d, at::kDouble);
  double total_weight = 0;
  for (const auto& c : mixture.components) total_weight += c.weight;
  std::vector<at::Tensor> log_joint, mus, as, traces;
  for (const auto& c : mixture.components) {
    const at::Tensor cov = c.covariance + sigma * sigma * eye;
    const at::Tensor inv = at::linalg_inv(cov);
    const at::Tensor r = x - c.mean;           // [B, D]
    const at::Tensor a = -at::matmul(r, inv);  // C^-1 symmetric
    const double logdet = std::get<1>(at::linalg_slogdet(cov)).item<double>();
    log_joint.push_back(std::log(c.weight / total_weight) -
                        0.5 * (d * std::log(2 * M_PI) + logdet + (-(a * r)).sum(1)));
    const at::Tensor gain = at::matmul(c.covariance, inv);  // S C^-1
    mus.push_back(c.mean + at::matmul(r, gain.t()));
    as.push_back(a);
    traces.push_back(at::trace(gain));
  }
  const at::Tensor resp = at::softmax(at::stack(log_joint, 1), 1);  // [B, K]
  const at::Tensor mu = at::stack(mus, 1);                          // [B, K, D]
  const at::Tensor a = at::stack(as, 1);
  const at::Tensor a_bar = (resp.unsqueeze(2) * a).sum(1, true);
  *denoised = (resp.unsqueeze(2) * mu).sum(1);
  *trace = (resp * at::stack(traces).unsqueeze(0)).sum(1) + (resp * (mu * (a - a_bar)).sum(2)).sum(1);
}

at::Tensor reference_rk4_band(const TestMixture& mixture, const at::Tensor& x0, double sigma_lo, double sigma_hi,
                              int64_t steps, at::Tensor* x_end) {
  const int64_t d = x0.size(1);
  const auto rhs = [&](double log_sigma, const at::Tensor& x, at::Tensor* dl) {
    at::Tensor denoised, trace;
    reference_mixture_drift(mixture, x, std::exp(log_sigma), &denoised, &trace);
    *dl = static_cast<double>(d) - trace;
    return x - denoised;
  };
  const double s0 = std::log(sigma_lo), h = (std::log(sigma_hi) - s0) / static_cast<double>(steps);
  at::Tensor x = x0.to(at::kDouble).clone();
  at::Tensor l = at::zeros({x0.size(0)}, at::kDouble);
  for (int64_t i = 0; i < steps; ++i) {
    const double s = s0 + h * static_cast<double>(i);
    at::Tensor l1, l2, l3, l4;
    const at::Tensor k1 = rhs(s, x, &l1);
    const at::Tensor k2 = rhs(s + h / 2, x + h / 2 * k1, &l2);
    const at::Tensor k3 = rhs(s + h / 2, x + h / 2 * k2, &l3);
    const at::Tensor k4 = rhs(s + h, x + h * k3, &l4);
    x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
    l = l + h / 6 * (l1 + 2 * l2 + 2 * l3 + l4);
  }
  *x_end = x;
  return l;
}

void write_doubles(const std::string& path, const at::Tensor& values) {
  const at::Tensor v = values.to(at::kDouble).contiguous();
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(v.data_ptr<double>()), static_cast<std::streamsize>(v.numel() * 8));
  if (!out) throw std::runtime_error("cannot write " + path);
}

at::Tensor read_doubles(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("cannot read " + path);
  const auto bytes = static_cast<int64_t>(in.tellg());
  in.seekg(0);
  at::Tensor v = at::empty({bytes / 8}, at::kDouble);
  in.read(reinterpret_cast<char*>(v.data_ptr<double>()), bytes);
  return v;
}

void write_mixture_json(const std::string& path, const TestMixture& mixture) {
  const auto list = [](const at::Tensor& t) {
    const at::Tensor f = t.reshape(-1).contiguous();
    std::string s = "[";
    for (int64_t i = 0; i < f.numel(); ++i) s += fmt::format("{}{:.17g}", i ? ", " : "", f[i].item<double>());
    return s + "]";
  };
  std::string weights, means, covariances;
  for (size_t k = 0; k < mixture.components.size(); ++k) {
    const auto& c = mixture.components[k];
    const std::string sep = k ? ", " : "";
    weights += sep + fmt::format("{:.17g}", c.weight);
    means += sep + list(c.mean);
    covariances += sep + list(c.covariance);
  }
  std::ofstream(path) << fmt::format("{{\"weights\": [{}], \"means\": [{}], \"covariances\": [{}]}}\n", weights, means,
                                     covariances);
}

}  // namespace switchdiff::testing
