#include "experts/expert_loader.h"

#include <filesystem>

#include "core/error.h"
#include "experts/gaussian_mixture_expert.h"

namespace switchdiff::experts {

bool is_gaussian_mixture(const std::string& expert_path) { return expert_path.rfind(kGaussianMixturePrefix, 0) == 0; }

std::string expert_file(const std::string& expert_path) {
  return is_gaussian_mixture(expert_path) ? expert_path.substr(std::string(kGaussianMixturePrefix).size())
                                          : expert_path;
}

std::shared_ptr<const Denoiser> load_expert(const ExpertSpec& spec, c10::Device device) {
  const std::string file = expert_file(spec.path);
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    throw make_error<InputError>(
        "{}: is a directory, not a model file; give the expert's TorchScript file (or "
        "gmm:<parameter file>)",
        spec.path);
  }
  if (is_gaussian_mixture(spec.path)) return GaussianMixtureExpert::from_file(file);
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
