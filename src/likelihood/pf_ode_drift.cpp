#include "likelihood/pf_ode_drift.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <stdexcept>

#include "core/error.h"

namespace switchdiff::likelihood {
namespace {

// v^T (dD/dx) for every row at once: rows are independent images, so one backward pass serves the batch.
at::Tensor vector_jacobian_product(const at::Tensor& denoised, const at::Tensor& leaf, const at::Tensor& v,
                                   bool keep_graph) {
  const auto grads = torch::autograd::grad({denoised}, {leaf}, {v}, /*retain_graph=*/keep_graph,
                                           /*create_graph=*/false, /*allow_unused=*/true);
  // allow_unused: a denoiser whose output does not depend on x has a zero Jacobian.
  return grads[0].defined() ? grads[0].to(at::kDouble).contiguous() : at::zeros_like(leaf);
}

}  // namespace

DriftAndDivergence pf_ode_drift(const experts::Denoiser& denoiser, const at::Tensor& x, const at::Tensor& sigma,
                                const at::Tensor& denoiser_sigma, const at::Tensor& probes, Divergence divergence,
                                const std::function<std::string(int64_t)>& row_name) {
  if (c10::InferenceMode::is_enabled()) {
    throw std::logic_error("pf_ode_drift needs autograd; it must not run under c10::InferenceMode");
  }
  const int64_t m = x.size(0);
  const int64_t d = m > 0 ? x.numel() / m : 0;
  const at::Tensor x64 = x.to(at::kDouble).contiguous();
  const at::Tensor s64 = sigma.to(at::kDouble).contiguous();
  const double* xs = x64.data_ptr<double>();
  const double* ss = s64.data_ptr<double>();

  at::AutoGradMode grad_mode(true);
  const at::Tensor leaf = x64.detach().clone().requires_grad_(true);
  const at::Tensor denoised = denoiser.denoise(leaf, denoiser_sigma.to(at::kDouble));
  if (denoised.sizes() != x.sizes()) {
    throw make_error<InputError>("{}: returned shape {} for input shape {}; a denoiser must keep the input's shape",
                                 denoiser.name(), fmt::format("{}", fmt::join(denoised.sizes(), "x")),
                                 fmt::format("{}", fmt::join(x.sizes(), "x")));
  }
  if (!denoised.requires_grad()) {
    throw make_error<InputError>(
        "{}: D(x; sigma) carries no autograd history, so the PF-ODE divergence cannot be "
        "computed; the expert must be differentiable w.r.t. x (no detach / no_grad inside)",
        denoiser.name());
  }
  const at::Tensor dd = denoised.detach().to(at::kDouble).contiguous();
  const double* ds = dd.data_ptr<double>();

  DriftAndDivergence out;
  out.drift = at::empty(x.sizes(), at::kDouble);
  out.divergence = at::zeros({m}, at::kDouble);
  double* fs = out.drift.data_ptr<double>();
  double* div = out.divergence.data_ptr<double>();
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < d; ++j) fs[i * d + j] = (xs[i * d + j] - ds[i * d + j]) / ss[i];
  }

  if (divergence == Divergence::kHutchinson) {
    const int64_t num_probes = probes.size(1);
    for (int64_t k = 0; k < num_probes; ++k) {
      const at::Tensor v = probes.select(1, k).to(at::kDouble).contiguous();
      const at::Tensor g = vector_jacobian_product(denoised, leaf, v, k + 1 < num_probes);
      const double* vs = v.data_ptr<double>();
      const double* gs = g.data_ptr<double>();
      for (int64_t i = 0; i < m; ++i) {
        double vv = 0, vjv = 0;  // eps.eps and eps^T (dD/dx) eps
        for (int64_t j = 0; j < d; ++j) {
          vv += vs[i * d + j] * vs[i * d + j];
          vjv += gs[i * d + j] * vs[i * d + j];
        }
        div[i] += vv - vjv;
      }
    }
    for (int64_t i = 0; i < m; ++i) div[i] = div[i] / static_cast<double>(num_probes) / ss[i];
  } else {
    std::vector<double> trace(static_cast<size_t>(m), 0.0);
    at::Tensor basis = at::zeros({m, d}, at::kDouble);
    for (int64_t j = 0; j < d; ++j) {
      basis.select(1, j).fill_(1.0);
      const at::Tensor g = vector_jacobian_product(denoised, leaf, basis.view(x.sizes()), j + 1 < d);
      basis.select(1, j).fill_(0.0);
      const double* gs = g.data_ptr<double>();
      for (int64_t i = 0; i < m; ++i) trace[i] += gs[i * d + j];
    }
    for (int64_t i = 0; i < m; ++i) div[i] = (static_cast<double>(d) - trace[i]) / ss[i];
  }

  for (int64_t i = 0; i < m; ++i) {
    bool finite = std::isfinite(div[i]);
    for (int64_t j = 0; j < d && finite; ++j) finite = std::isfinite(fs[i * d + j]);
    if (!finite) {
      throw make_error<InputError>(
          "{}: non-finite PF-ODE drift or divergence (NaN or Inf) at sigma = {:.9g} from {}; "
          "check the expert (and its trained sigma range) near this noise level",
          row_name(i), ss[i], denoiser.name());
    }
  }
  return out;
}

}  // namespace switchdiff::likelihood
