#include "likelihood/merge_sweep.h"

#include <stdexcept>

namespace switchdiff::likelihood {

std::vector<double> sweep_switch_sigmas(const MergedModels& merged) {
  if (merged.empty()) throw std::invalid_argument("sweep: no merged models");
  std::vector<double> sigmas;
  const experts::SwitchedDenoiser& first = *merged.front();
  for (const auto& m : merged) {
    if (!m || m->num_experts() != first.num_experts() || m->num_experts() > 2) {
      throw std::invalid_argument("sweep: every merge must have the same one or two experts");
    }
    for (size_t band = 0; band < m->num_experts(); ++band) {
      if (&m->expert(band) != &first.expert(band)) {
        throw std::invalid_argument("sweep: the merges do not share one expert pair");
      }
    }
    sigmas.push_back(m->num_experts() == 2 ? m->switch_sigmas()[0] : 0.0);
  }
  return sigmas;
}

}  // namespace switchdiff::likelihood
