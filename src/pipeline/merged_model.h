#pragma once
// Loads the experts named in the config once, and builds the merged denoiser for a switch sigma
// (docs/experts.md). Records each expert's resolved metadata and SHA-256 for results files (docs/formats.md).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "experts/switched_denoiser.h"
#include "experts/torchscript_expert.h"

namespace switchdiff::io {
class H5File;
}

namespace switchdiff::pipeline {

struct LoadedExpert {
  std::string role;  // "quality" | "likelihood"
  std::shared_ptr<const experts::Denoiser> denoiser;
  experts::ExpertInfo info;
  std::string sha256;
};

class MergedModel {
 public:
  // likelihood may be absent: the quality expert is then used alone at every switch sigma.
  // Networks run on `device` (pipeline/compute_device.h).
  MergedModel(const experts::ExpertSpec& quality, const std::optional<experts::ExpertSpec>& likelihood,
              c10::Device device = c10::Device(c10::kCPU));

  // The merge at eta (docs/experts.md). Checks that each expert stays inside its trained range over
  // [sigma_lo, sigma_hi], the noise levels the caller will use.
  std::shared_ptr<experts::SwitchedDenoiser> at_switch(double switch_sigma, double sigma_lo, double sigma_hi) const;

  experts::ImageShape image_shape() const { return experts_.front().denoiser->image_shape(); }
  const std::vector<LoadedExpert>& experts() const { return experts_; }
  // /experts/<role> groups with path, sha256, parameterization, sigma_min, sigma_max (docs/formats.md).
  void write_expert_attributes(io::H5File& file) const;
  // "role=sha256;..." for resume checks.
  std::string fingerprint() const;

 private:
  std::vector<LoadedExpert> experts_;  // quality first, then likelihood when given
};

}  // namespace switchdiff::pipeline
