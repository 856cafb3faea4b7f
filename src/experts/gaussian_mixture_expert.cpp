#include "experts/gaussian_mixture_expert.h"

#include <ATen/ATen.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.h"

namespace switchdiff::experts {
namespace {
constexpr double kLogTwoPi = 1.8378770664093453;  // ln(2*pi)

// Reads the whitespace-separated token stream of a parameter file, dropping '#' comments.
class TokenReader {
 public:
  TokenReader(std::istream& in, std::string path) : path_(std::move(path)) {
    std::string line;
    while (std::getline(in, line)) {
      const auto hash = line.find('#');
      if (hash != std::string::npos) line.resize(hash);
      std::istringstream words(line);
      std::string word;
      while (words >> word) tokens_.push_back(word);
    }
  }
  std::string word(const char* what) {
    if (next_ >= tokens_.size()) {
      throw make_error<InputError>("{}: file ends where {} was expected; see the format in gaussian_mixture_expert.h",
                                   path_, what);
    }
    return tokens_[next_++];
  }
  double number(const char* what) {
    const std::string w = word(what);
    try {
      size_t used = 0;
      const double v = std::stod(w, &used);
      if (used != w.size()) throw std::invalid_argument(w);
      return v;
    } catch (const std::exception&) {
      throw make_error<InputError>("{}: expected a number for {}, found '{}'", path_, what, w);
    }
  }
  void expect(const char* keyword) {
    const std::string w = word(keyword);
    if (w != keyword) throw make_error<InputError>("{}: expected '{}', found '{}'", path_, keyword, w);
  }
  bool done() const { return next_ >= tokens_.size(); }

 private:
  std::string path_;
  std::vector<std::string> tokens_;
  size_t next_ = 0;
};

at::Tensor read_vector(TokenReader& reader, int64_t n, const char* what) {
  std::vector<double> values(static_cast<size_t>(n));
  for (auto& v : values) v = reader.number(what);
  return at::tensor(values, at::kDouble);
}
}  // namespace

GaussianMixtureExpert::GaussianMixtureExpert(ImageShape shape, std::vector<Component> components, std::string name)
    : shape_(shape), name_(std::move(name)), components_(std::move(components)) {
  if (components_.empty()) throw make_error<InputError>("{}: a Gaussian mixture needs at least one component", name_);
  const int64_t d = shape_.dims();
  double total_weight = 0;
  for (const auto& c : components_) {
    if (!(c.weight > 0)) throw make_error<InputError>("{}: component weights must be > 0, got {}", name_, c.weight);
    total_weight += c.weight;
  }
  for (auto& c : components_) {
    if (c.mean.numel() != d || c.covariance.numel() != d * d) {
      throw make_error<InputError>("{}: component has mean of {} and covariance of {} values; shape {} needs {} and {}",
                                   name_, c.mean.numel(), c.covariance.numel(), shape_.str(), d, d * d);
    }
    const at::Tensor cov = c.covariance.to(at::kDouble).reshape({d, d});
    const at::Tensor symmetric = 0.5 * (cov + cov.t());
    auto [eigenvalues, eigenvectors] = at::linalg_eigh(symmetric);
    if (eigenvalues.min().item<double>() < -1e-9 * std::max(1.0, eigenvalues.abs().max().item<double>())) {
      throw make_error<InputError>("{}: a component covariance is not positive semi-definite (eigenvalue {})", name_,
                                   eigenvalues.min().item<double>());
    }
    log_weights_.push_back(std::log(c.weight / total_weight));
    means_.push_back(c.mean.to(at::kDouble).reshape({d}).contiguous());
    eigenvalues_.push_back(eigenvalues.clamp_min(0.0).contiguous());
    eigenvectors_.push_back(eigenvectors.contiguous());
  }
}

std::unique_ptr<GaussianMixtureExpert> GaussianMixtureExpert::from_file(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw make_error<InputError>("gmm:{}: cannot open the Gaussian-mixture parameter file; check the path", path);
  TokenReader reader(in, "gmm:" + path);
  reader.expect("gmm");
  const double version = reader.number("format version");
  if (version != 1) throw make_error<InputError>("gmm:{}: format version {} is not supported (1 is)", path, version);
  reader.expect("shape");
  ImageShape shape;
  shape.channels = static_cast<int64_t>(reader.number("channels"));
  shape.height = static_cast<int64_t>(reader.number("height"));
  shape.width = static_cast<int64_t>(reader.number("width"));
  if (shape.dims() <= 0) throw make_error<InputError>("gmm:{}: shape {} is empty", path, shape.str());
  reader.expect("components");
  const auto count = static_cast<int64_t>(reader.number("component count"));
  const int64_t d = shape.dims();
  std::vector<Component> components;
  for (int64_t k = 0; k < count; ++k) {
    Component c;
    reader.expect("weight");
    c.weight = reader.number("weight");
    reader.expect("mean");
    c.mean = read_vector(reader, d, "mean");
    const std::string kind = reader.word("variance | diagonal | covariance");
    if (kind == "variance") {
      c.covariance = at::eye(d, at::kDouble) * reader.number("variance");
    } else if (kind == "diagonal") {
      c.covariance = at::diag(read_vector(reader, d, "diagonal"));
    } else if (kind == "covariance") {
      c.covariance = read_vector(reader, d * d, "covariance").reshape({d, d});
    } else {
      throw make_error<InputError>("gmm:{}: expected 'variance', 'diagonal' or 'covariance', found '{}'", path, kind);
    }
    components.push_back(std::move(c));
  }
  if (!reader.done()) throw make_error<InputError>("gmm:{}: extra values after {} components", path, count);
  return std::make_unique<GaussianMixtureExpert>(shape, std::move(components), "gmm:" + path);
}

SigmaRange GaussianMixtureExpert::trained_range() const {
  return {0.0, std::numeric_limits<double>::infinity()};  // exact at every noise level
}

at::Tensor GaussianMixtureExpert::component_log_joint(const at::Tensor& x_flat, const at::Tensor& sigma,
                                                      at::Tensor* conditional_means) const {
  const int64_t d = shape_.dims();
  const at::Tensor variance = (sigma.to(at::kDouble) * sigma.to(at::kDouble)).reshape({-1, 1});  // [B, 1]
  std::vector<at::Tensor> log_joint;
  std::vector<at::Tensor> means;
  for (size_t k = 0; k < means_.size(); ++k) {
    const at::Tensor residual = x_flat - means_[k];                             // [B, D]
    const at::Tensor rotated = at::matmul(residual, eigenvectors_[k]);          // U^T r per row
    const at::Tensor total_variance = eigenvalues_[k].unsqueeze(0) + variance;  // lambda + sigma^2, [B, D]
    const at::Tensor quadratic = (rotated * rotated / total_variance).sum(1);
    const at::Tensor log_det = at::log(total_variance).sum(1);
    log_joint.push_back(log_weights_[k] - 0.5 * (static_cast<double>(d) * kLogTwoPi + log_det + quadratic));
    if (conditional_means) {
      // E[y | x, k] = m + U diag(lambda / (lambda + sigma^2)) U^T (x - m)
      const at::Tensor shrunk = rotated * (eigenvalues_[k].unsqueeze(0) / total_variance);
      means.push_back(means_[k] + at::matmul(shrunk, eigenvectors_[k].t()));
    }
  }
  if (conditional_means) *conditional_means = at::stack(means, 1);
  return at::stack(log_joint, 1);
}

at::Tensor GaussianMixtureExpert::denoise(const at::Tensor& x, const at::Tensor& sigma) const {
  const at::Tensor x_flat = x.to(at::kDouble).reshape({x.size(0), -1});
  at::Tensor conditional_means;
  const at::Tensor log_joint = component_log_joint(x_flat, sigma, &conditional_means);
  const at::Tensor responsibilities = at::softmax(log_joint, 1);  // [B, K]
  const at::Tensor denoised = (responsibilities.unsqueeze(2) * conditional_means).sum(1);
  return denoised.reshape(x.sizes()).to(x.scalar_type());
}

at::Tensor GaussianMixtureExpert::log_density(const at::Tensor& x, const at::Tensor& sigma) const {
  const at::Tensor x_flat = x.to(at::kDouble).reshape({x.size(0), -1});
  return at::logsumexp(component_log_joint(x_flat, sigma, nullptr), 1);
}

at::Tensor GaussianMixtureExpert::sample(int64_t n, at::Generator generator) const {
  const int64_t d = shape_.dims();
  std::vector<double> weights;
  for (const double lw : log_weights_) weights.push_back(std::exp(lw));
  const at::Tensor component = at::multinomial(at::tensor(weights, at::kDouble), n, /*replacement=*/true, generator);
  const at::Tensor z = at::randn({n, d}, generator, at::kDouble);
  at::Tensor out = at::empty({n, d}, at::kDouble);
  for (size_t k = 0; k < means_.size(); ++k) {
    // y = m + U diag(sqrt(lambda)) z
    const at::Tensor draw = means_[k] + at::matmul(z * eigenvalues_[k].sqrt(), eigenvectors_[k].t());
    const at::Tensor mask = (component == static_cast<int64_t>(k)).unsqueeze(1);
    out = at::where(mask, draw, out);
  }
  return out.reshape({n, shape_.channels, shape_.height, shape_.width});
}

at::Tensor GaussianMixtureExpert::mean() const {
  at::Tensor m = at::zeros({shape_.dims()}, at::kDouble);
  for (size_t k = 0; k < means_.size(); ++k) m += std::exp(log_weights_[k]) * means_[k];
  return m;
}

at::Tensor GaussianMixtureExpert::covariance() const {
  const at::Tensor m = mean();
  at::Tensor c = at::zeros({shape_.dims(), shape_.dims()}, at::kDouble);
  for (size_t k = 0; k < means_.size(); ++k) {
    const at::Tensor centred = means_[k] - m;
    const at::Tensor s = at::matmul(eigenvectors_[k] * eigenvalues_[k].unsqueeze(0), eigenvectors_[k].t());
    c += std::exp(log_weights_[k]) * (s + at::outer(centred, centred));
  }
  return c;
}

}  // namespace switchdiff::experts
