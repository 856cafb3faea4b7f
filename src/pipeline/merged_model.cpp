#include "pipeline/merged_model.h"

#include "experts/expert_loader.h"
#include "core/file_hash.h"
#include "io/h5_file.h"

namespace switchdiff::pipeline {
namespace {

LoadedExpert load(const std::string& role, const experts::ExpertSpec& spec, c10::Device device) {
  LoadedExpert e;
  e.role = role;
  e.denoiser = experts::load_expert(spec, device);
  e.info = experts::describe_expert(*e.denoiser, spec.path);
  e.sha256 = core::sha256_file(experts::expert_file(spec.path));
  return e;
}

}  // namespace

MergedModel::MergedModel(const experts::ExpertSpec& quality, const std::optional<experts::ExpertSpec>& likelihood,
                         c10::Device device) {
  experts_.push_back(load("quality", quality, device));
  if (likelihood) experts_.push_back(load("likelihood", *likelihood, device));
}

std::shared_ptr<experts::SwitchedDenoiser> MergedModel::at_switch(double switch_sigma, double sigma_lo,
                                                                  double sigma_hi) const {
  std::shared_ptr<experts::SwitchedDenoiser> merged;
  if (experts_.size() == 1) {
    merged = std::make_shared<experts::SwitchedDenoiser>(
        std::vector<std::shared_ptr<const experts::Denoiser>>{experts_[0].denoiser}, std::vector<double>{});
  } else {
    merged = experts::SwitchedDenoiser::merge(experts_[0].denoiser, experts_[1].denoiser, switch_sigma);
  }
  merged->check_trained_range(sigma_lo, sigma_hi,
                              "choose a switch sigma (eta) that keeps each expert inside its trained range, or "
                              "adjust the sampler's sigma_min/sigma_max");
  return merged;
}

void MergedModel::write_expert_attributes(io::H5File& file) const {
  for (const auto& e : experts_) {
    const std::string group = "/experts/" + e.role;
    file.create_group(group);
    file.set_string_attribute(group, "path", e.info.path);
    file.set_string_attribute(group, "sha256", e.sha256);
    file.set_string_attribute(group, "parameterization", experts::to_string(e.info.parameterization));
    file.set_double_attribute(group, "sigma_min", e.info.range.min);
    file.set_double_attribute(group, "sigma_max", e.info.range.max);
    file.set_double_attribute(group, "data_scale", e.info.data_scale);
    file.set_string_attribute(group, "image_shape", e.info.shape.str());
  }
}

std::string MergedModel::fingerprint() const {
  std::string text;
  for (const auto& e : experts_) text += e.role + "=" + e.sha256 + ";";
  return text;
}

}  // namespace switchdiff::pipeline
