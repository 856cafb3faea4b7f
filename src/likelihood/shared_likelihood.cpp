#include "likelihood/shared_likelihood.h"

#include <ATen/ATen.h>

#include <stdexcept>

#include "likelihood/dequantization.h"
#include "likelihood/elbo_sweep.h"
#include "likelihood/pf_ode_sweep.h"

namespace switchdiff::likelihood {

SharedLikelihoodResult estimate_likelihood_shared(const MergedModels& merged, const at::Tensor& images,
                                                  const std::vector<int64_t>& indices, const LikelihoodOptions& options,
                                                  const std::string& data_name) {
  sweep_switch_sigmas(merged);  // one expert pair
  for (const auto& m : merged) check_likelihood_inputs(*m, images, options, data_name);
  if (static_cast<int64_t>(indices.size()) != images.size(0)) {
    throw std::invalid_argument("estimate_likelihood_shared: one index per image is needed");
  }
  const int64_t dims = images[0].numel();
  const size_t count = merged.size();
  SharedLikelihoodResult out;
  LikelihoodNoise noise(indices, merged.front()->image_shape(), options);
  std::vector<std::vector<RepeatEstimate>> repeats(count);
  for (int64_t r = 0; r < options.repeats; ++r) {
    const RepeatNoise n = noise.next();
    const at::Tensor y = dequantize(images, n.dequantization, options.dequantization);
    const PfOdeSweepResult ode = pf_ode_log_density_sweep(merged, y, n.probes, options.ode, indices);
    out.performed_quality_nfe += ode.performed_quality_nfe;
    out.performed_likelihood_nfe += ode.performed_likelihood_nfe;
    ElboSweepResult elbo;
    if (options.elbo) {
      elbo = elbo_discrete_sweep(merged, images, n.elbo_uniform, n.elbo_normal, options.ode.sigma_min,
                                 options.ode.sigma_max, options.elbo_options);
      out.performed_quality_elbo += elbo.performed_quality;
      out.performed_likelihood_elbo += elbo.performed_likelihood;
    }
    for (size_t k = 0; k < count; ++k) {
      // As estimate_likelihood_repeat.
      RepeatEstimate e;
      const PfOdeResult& p = ode.points[k];
      e.log_density = p.log_density;
      e.nll_bpd = bits_per_dim(p.log_density, dims, options.dequantization);
      e.nfe = p.final_state.nfe;
      e.accepted = p.final_state.accepted;
      e.rejected = p.final_state.rejected;
      if (options.elbo) {
        e.elbo_bpd = elbo.points[k].bpd();
        e.elbo_bpd_stderr = elbo.points[k].bpd_stderr();
        e.elbo_nfe = elbo.points[k].nfe;
      }
      repeats[k].push_back(std::move(e));
    }
  }
  for (size_t k = 0; k < count; ++k) out.points.push_back(combine_repeats(repeats[k], options.elbo));
  return out;
}

}  // namespace switchdiff::likelihood
