#include "likelihood/pf_ode_band.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "likelihood/pf_ode_drift.h"

namespace switchdiff::likelihood {

ImageName pf_ode_image_name(const std::vector<int64_t>& image_ids) {
  return [image_ids](int64_t row) {
    return fmt::format("image {}", image_ids.empty() ? row : image_ids[static_cast<size_t>(row)]);
  };
}

at::Tensor pf_ode_augmented_rows(const PfOdeState& state) {
  const int64_t batch = state.x.size(0);
  const int64_t d = batch > 0 ? state.x.numel() / batch : 0;
  at::Tensor y = at::empty({batch, d + 1}, at::kDouble);
  y.narrow(1, 0, d).copy_(state.x.reshape({batch, d}));
  y.select(1, d).copy_(state.delta_logp);
  return y;
}

std::vector<StepCounts> pf_ode_counts(const PfOdeState& state) {
  const int64_t batch = state.x.size(0);
  std::vector<StepCounts> counts(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) {
    counts[i] = {state.nfe[i].item<int64_t>(), state.accepted[i].item<int64_t>(), state.rejected[i].item<int64_t>()};
  }
  return counts;
}

PfOdeState pf_ode_state_from(double sigma, const at::Tensor& y, at::IntArrayRef shape,
                             const std::vector<StepCounts>& counts) {
  const int64_t d = y.size(1) - 1;
  PfOdeState s;
  s.sigma = sigma;
  s.x = y.narrow(1, 0, d).clone().reshape(shape);
  s.delta_logp = y.select(1, d).clone();
  const auto batch = static_cast<int64_t>(counts.size());
  s.nfe = at::empty({batch}, at::kLong);
  s.accepted = at::empty({batch}, at::kLong);
  s.rejected = at::empty({batch}, at::kLong);
  for (int64_t i = 0; i < batch; ++i) {
    s.nfe.data_ptr<int64_t>()[i] = counts[i].nfe;
    s.accepted.data_ptr<int64_t>()[i] = counts[i].accepted;
    s.rejected.data_ptr<int64_t>()[i] = counts[i].rejected;
  }
  return s;
}

Dopri5Settings pf_ode_solver_settings(const PfOdeOptions& options, ImageName image_name) {
  Dopri5Settings settings;
  settings.rtol = options.rtol;
  settings.atol = options.atol;
  settings.max_steps = options.max_steps;
  settings.min_step = options.min_step;
  settings.row_name = std::move(image_name);
  settings.time_name = "sigma";
  return settings;
}

at::Tensor pf_ode_probes(const at::Tensor& probes, const at::Tensor& x, const PfOdeOptions& options) {
  if (options.divergence != Divergence::kHutchinson) return {};
  const int64_t batch = x.size(0);
  if (!probes.defined() || probes.dim() != 5 || probes.size(0) != batch || probes.size(1) != options.probes ||
      probes[0][0].sizes() != x[0].sizes()) {
    throw std::invalid_argument(
        fmt::format("pf_ode_advance: probes must be [B={}, K={}, C, H, W] like x", batch, options.probes));
  }
  return probes.to(at::kCPU).to(at::kDouble).contiguous();
}

BatchRhs pf_ode_band_rhs(const experts::Denoiser& denoiser, double lo, double hi, std::vector<int64_t> image_shape,
                         at::Tensor probes64, Divergence divergence, ImageName image_name, int64_t* evaluations) {
  const double lo_inside = std::nextafter(lo, std::numeric_limits<double>::infinity());
  return [&denoiser, lo_inside, hi, image_shape = std::move(image_shape), probes64 = std::move(probes64), divergence,
          image_name = std::move(image_name),
          evaluations](const std::vector<int64_t>& rows, const at::Tensor& t, const at::Tensor& rows_y) {
    const auto m = static_cast<int64_t>(rows.size());
    const int64_t d = rows_y.size(1) - 1;
    std::vector<int64_t> x_shape = image_shape;
    x_shape[0] = m;
    const at::Tensor x = rows_y.narrow(1, 0, d).contiguous().reshape(x_shape);
    // The band's own half-open interval (lo, hi] decides the expert (see pf_ode.h).
    const at::Tensor denoiser_sigma = t.clamp(lo_inside, hi);
    at::Tensor row_probes;
    if (divergence == Divergence::kHutchinson) row_probes = probes64.index_select(0, at::tensor(rows, at::kLong));
    const DriftAndDivergence f = pf_ode_drift(denoiser, x, t, denoiser_sigma, row_probes, divergence,
                                              [&](int64_t i) { return image_name(rows[static_cast<size_t>(i)]); });
    if (evaluations) *evaluations += m;
    at::Tensor out = at::empty({m, d + 1}, at::kDouble);
    out.narrow(1, 0, d).copy_(f.drift.reshape({m, d}));
    out.select(1, d).copy_(f.divergence);
    return out;
  };
}

}  // namespace switchdiff::likelihood
