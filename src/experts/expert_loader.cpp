#include "experts/expert_loader.h"

#include "experts/gaussian_mixture_expert.h"

namespace switchdiff::experts {

std::shared_ptr<const Denoiser> load_expert(const ExpertSpec& spec, c10::Device device) {
  constexpr const char* kGmmPrefix = "gmm:";
  if (spec.path.rfind(kGmmPrefix, 0) == 0) {
    return GaussianMixtureExpert::from_file(spec.path.substr(4));
  }
  return std::make_shared<TorchScriptExpert>(spec, device);
}

ExpertInfo describe_expert(const Denoiser& expert, const std::string& path) {
  if (const auto* ts = dynamic_cast<const TorchScriptExpert*>(&expert)) return ts->info();
  ExpertInfo info;
  info.path = path;
  info.parameterization = Parameterization::kEdm;  // analytic experts are used through D directly
  info.range = expert.trained_range();
  info.shape = expert.image_shape();
  return info;
}

}  // namespace switchdiff::experts
