#include "pipeline/sweep_results.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "experts/file_hash.h"
#include "io/h5_file.h"
#include "io/reference_stats.h"
#include "likelihood/dequantization.h"
#include "pipeline/output_path.h"
#include "pipeline/run_metadata.h"
#include "pipeline/sweep_job.h"

namespace switchdiff::pipeline {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The /sweep columns (SPEC §8), each bound to its SweepRow member. Integers are stored as int64.
struct Column {
  const char* name;
  double SweepRow::*real = nullptr;
  int64_t SweepRow::*integer = nullptr;
};
const Column kColumns[] = {
    {"switch_sigma", &SweepRow::switch_sigma},
    {"switch_step", nullptr, &SweepRow::switch_step},
    {"fid", &SweepRow::fid},
    {"fid_stderr", &SweepRow::fid_stderr},
    {"inception_score", &SweepRow::inception_score},
    {"n_samples", nullptr, &SweepRow::n_samples},
    {"nll_bpd", &SweepRow::nll_bpd},
    {"nll_bpd_stderr", &SweepRow::nll_bpd_stderr},
    {"n_test", nullptr, &SweepRow::n_test},
    {"nll_nfe_mean", &SweepRow::nll_nfe_mean},
    {"elbo_bpd", &SweepRow::elbo_bpd},
    {"elbo_bpd_stderr", &SweepRow::elbo_bpd_stderr},
    {"sample_nfe_mean", &SweepRow::sample_nfe_mean},
    {"status", nullptr, &SweepRow::status},
};

// Exclusive advisory lock on a file for the lifetime of the object: concurrent array tasks assemble in
// turn. flock locks are released by the kernel when the process dies, so a killed task never leaves it held.
class FolderLock {
 public:
  explicit FolderLock(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT, 0644)) {
    if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0) {
      throw make_error<IoError>("{}: cannot create or lock the sweep's lock file; check that the folder is writable",
                                path);
    }
  }
  ~FolderLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_;
};

std::string lock_path(const std::string& output_path) { return work_folder(output_path) + "/lock"; }
bool exists(const std::string& path) { return std::filesystem::exists(path); }

// The stored identity plus what the files themselves are: the experts' and extractor's SHA-256.
std::string full_identity(const SweepJob& job) {
  std::string text = job.identity + "\nexperts = " + job.model->fingerprint() + "\n";
  if (job.extractor_path) text += "extractor sha256 = " + experts::sha256_file(*job.extractor_path) + "\n";
  if (job.reference_path) text += "reference sha256 = " + experts::sha256_file(*job.reference_path) + "\n";
  return text;
}

// The lines of `current` missing from `stored` and vice versa, for the refusal message.
std::string identity_difference(const std::string& stored, const std::string& current) {
  auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  };
  const auto a = lines(stored), b = lines(current);
  std::string diff;
  for (const auto& l : a)
    if (std::find(b.begin(), b.end(), l) == b.end()) diff += "\n  stored:  " + l;
  for (const auto& l : b)
    if (std::find(a.begin(), a.end(), l) == a.end()) diff += "\n  current: " + l;
  return diff;
}

void check_identity(const std::string& where, const std::string& stored, const std::string& current,
                    const std::string& output_path) {
  if (stored == current) return;
  throw make_error<ConfigError>(
      "{} belongs to a sweep with other settings or other expert files; finished points are never rewritten. "
      "Resume with the same config, or choose another output.path (or delete {} and {}.work to start over). "
      "Differences:{}",
      where, output_path, output_path, identity_difference(stored, current));
}

void create_results_file(const SweepJob& job, const std::string& identity) {
  io::H5File file = io::H5File::create(job.output_path);
  write_run_metadata(file, job.meta);
  file.set_string_attribute("/", "run_identity", identity);
  file.set_string_attribute("/", "status", "running");
  file.set_int_attribute("/", "seed_base", job.seed_base);
  file.set_int_attribute("/", "nll_seed", job.nll_options.seed);
  file.set_string_attribute("/", "bpd_formula", likelihood::kBpdFormula);
  job.model->write_expert_attributes(file);
  const size_t n = job.points.size();
  for (const Column& c : kColumns) {
    if (c.real) file.write(std::string("/sweep/") + c.name, std::vector<double>(n, kNaN));
    if (c.integer) file.write(std::string("/sweep/") + c.name, std::vector<int64_t>(n, 0));
  }
  std::vector<double> sigmas;
  std::vector<int64_t> steps;
  for (const SweepPoint& p : job.points) {
    sigmas.push_back(p.switch_sigma);
    steps.push_back(p.switch_step);
  }
  file.write_rows("/sweep/switch_sigma", 0, static_cast<int64_t>(n), sigmas.data());
  file.write_rows("/sweep/switch_step", 0, static_cast<int64_t>(n), steps.data());
  file.close();
}

void write_row(io::H5File& file, int64_t k, const SweepRow& row) {
  for (const Column& c : kColumns) {
    const std::string path = std::string("/sweep/") + c.name;
    if (c.real) file.write_rows(path, k, 1, &(row.*c.real));
    if (c.integer) file.write_rows(path, k, 1, &(row.*c.integer));
  }
}

std::vector<SweepRow> read_rows(const io::H5File& file, size_t n) {
  std::vector<SweepRow> rows(n);
  for (const Column& c : kColumns) {
    const std::string path = std::string("/sweep/") + c.name;
    if (c.real) {
      const auto v = file.read<double>(path);
      for (size_t k = 0; k < n; ++k) rows[k].*c.real = v.at(k);
    } else {
      const auto v = file.read<int64_t>(path);
      for (size_t k = 0; k < n; ++k) rows[k].*c.integer = v.at(k);
    }
  }
  return rows;
}

// Copies point k's work files into /points/<k> and fills its row. Rewrites a half-copied group (one whose
// row is not marked done) from scratch.
SweepRow copy_point(io::H5File& out, const SweepJob& job, int64_t k) {
  const PointNeeds needs = point_needs(job);
  const PointFiles files = point_files(job.output_path, k);
  const std::string group = fmt::format("/points/{}", k);
  if (out.exists(group)) out.remove(group);
  out.create_group(group);
  SweepRow row;
  row.switch_sigma = job.points[static_cast<size_t>(k)].switch_sigma;
  row.switch_step = job.points[static_cast<size_t>(k)].switch_step;
  row.fid = row.fid_stderr = row.inception_score = row.nll_bpd = row.nll_bpd_stderr = row.nll_nfe_mean = kNaN;
  row.elbo_bpd = row.elbo_bpd_stderr = row.sample_nfe_mean = kNaN;
  out.set_double_attribute(group, "switch_sigma", row.switch_sigma);
  out.set_int_attribute(group, "switch_step", row.switch_step);
  if (needs.samples && exists(files.samples)) {
    const io::H5File samples = io::H5File::open(files.samples, false);
    const io::DatasetInfo info = samples.dataset_info("/images");
    const int64_t shown = std::min<int64_t>(job.preview_images, info.shape[0]);
    std::vector<int64_t> shape = info.shape;
    shape[0] = shown;
    const int64_t pixels = info.num_elements() / info.shape[0];
    std::vector<uint8_t> images(static_cast<size_t>(shown * pixels));
    if (shown > 0) samples.read_rows("/images", 0, shown, images.data());
    out.write(group + "/images", shape, images.data());
  }
  if (needs.samples) {
    row.n_samples = job.sample_count;
    row.sample_nfe_mean = static_cast<double>(sampling::evaluations_per_sample(job.sampler));
  }
  if (needs.stats) {
    const io::FeatureStatistics stats = io::read_feature_statistics(files.stats);
    const at::Tensor mu = stats.mu.contiguous(), sigma = stats.sigma.contiguous();
    out.write(group + "/inception_mu", {mu.size(0)}, mu.data_ptr<double>());
    out.write(group + "/inception_sigma", {sigma.size(0), sigma.size(1)}, sigma.data_ptr<double>());
    out.set_string_attribute(group, "extractor", stats.extractor.text());
    if (stats.inception_score) row.inception_score = stats.inception_score->mean;
  }
  if (needs.fid) {
    const io::H5File fid = io::H5File::open(files.fid, false);
    row.fid = fid.read<double>("/fid").at(0);
    if (fid.has_attribute("/fid", "metric")) {
      out.set_string_attribute("/sweep", "fid_metric", fid.string_attribute("/fid", "metric"));
    }
  }
  if (needs.jackknife) {
    const io::H5File jackknife = io::H5File::open(files.jackknife, false);
    out.write(group + "/fid_leave_one_out", jackknife.read<double>("/fid_leave_one_out"));
    row.fid_stderr = jackknife.double_attribute("/", "fid_stderr");
  }
  if (needs.nll) {
    const io::H5File nll = io::H5File::open(files.nll, false);
    out.write(group + "/nll_bpd_per_image", nll.read<double>("/nll_bpd"));
    out.write(group + "/nll_nfe_per_image", nll.read<double>("/nfe"));
    if (nll.exists("/elbo_bpd")) out.write(group + "/elbo_bpd_per_image", nll.read<double>("/elbo_bpd"));
    row.nll_bpd = nll.double_attribute("/", "nll_bpd_mean");
    row.nll_bpd_stderr = nll.double_attribute("/", "nll_bpd_stderr");
    row.nll_nfe_mean = nll.double_attribute("/", "nll_nfe_mean");
    row.elbo_bpd = nll.double_attribute("/", "elbo_bpd_mean");
    row.elbo_bpd_stderr = nll.double_attribute("/", "elbo_bpd_stderr");
    row.n_test = nll.int_attribute("/", "n_test");
    out.set_double_attribute(group, "ode_sigma_min", nll.double_attribute("/", "ode_sigma_min"));
  }
  row.status = kDone;
  write_row(out, k, row);  // status last: a crash before this line leaves the point to be copied again
  out.flush();
  return row;
}

bool point_finished(const PointNeeds& needs, const PointFiles& files) {
  return (!needs.samples || needs.stats || exists(files.samples)) && (!needs.stats || exists(files.stats)) &&
         (!needs.fid || exists(files.fid)) && (!needs.jackknife || exists(files.jackknife)) &&
         (!needs.nll || exists(files.nll));
}

bool point_started(const PointFiles& files) {
  for (const std::string& f : {files.samples, files.stats, files.fid, files.jackknife, files.nll}) {
    if (exists(f) || exists(f + ".partial")) return true;
  }
  return false;
}

}  // namespace

std::string work_folder(const std::string& output_path) { return output_path + ".work"; }

PointFiles point_files(const std::string& output_path, int64_t k) {
  const std::string stem = fmt::format("{}/point_{}", work_folder(output_path), k);
  return {stem + ".samples.h5", stem + ".stats.h5", stem + ".fid.h5", stem + ".jackknife.h5", stem + ".nll.h5"};
}

PointNeeds point_needs(const SweepJob& job) {
  PointNeeds n;
  n.samples = job.sample_count > 0;
  n.stats = n.samples && job.extractor_path.has_value();
  n.fid = n.stats && job.reference_path.has_value();
  n.jackknife = n.fid && job.fid_jackknife_groups >= 2;
  n.nll = job.nll_dataset.has_value() && job.nll_count != 0;
  return n;
}

void open_sweep_results(const SweepJob& job) {
  ensure_writable_output(job.output_path);
  const std::string work = work_folder(job.output_path);
  const bool created = !exists(work);
  std::filesystem::create_directories(work);
  try {
    FolderLock lock(lock_path(job.output_path));
    const std::string identity = full_identity(job);
    if (exists(job.output_path)) {
      const io::H5File file = io::H5File::open_input(job.output_path);  // InputError for a non-HDF5 file
      if (!file.has_attribute("/", "run_identity") || !file.is_group("/sweep")) {
        throw make_error<ConfigError>(
            "{} exists and is not a switchdiff sweep results file; it is never "
            "overwritten: choose another output.path",
            job.output_path);
      }
      check_identity(job.output_path, file.string_attribute("/", "run_identity"), identity, job.output_path);
    }
    const std::string identity_file = work + "/identity.txt";
    if (exists(identity_file)) {
      std::ifstream in(identity_file);
      const std::string stored((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      check_identity(work, stored, identity, job.output_path);
    } else {
      std::ofstream(identity_file) << identity;
    }
    if (!exists(job.output_path)) create_results_file(job, identity);
  } catch (const Error&) {
    if (created) std::filesystem::remove_all(work);  // a refused run leaves nothing behind
    throw;
  }
}

std::vector<SweepRow> assemble_sweep_results(const SweepJob& job) {
  FolderLock lock(lock_path(job.output_path));
  io::H5File out = io::H5File::open(job.output_path, true);
  std::vector<SweepRow> rows = read_rows(out, job.points.size());
  const PointNeeds needs = point_needs(job);
  for (size_t k = 0; k < rows.size(); ++k) {
    if (rows[k].status == kDone) continue;
    const PointFiles files = point_files(job.output_path, static_cast<int64_t>(k));
    if (point_finished(needs, files)) {
      rows[k] = copy_point(out, job, static_cast<int64_t>(k));
      if (needs.stats && !job.keep_samples) std::filesystem::remove(files.samples);
    } else {
      const int64_t status = point_started(files) ? kPartial : kPending;
      if (status != rows[k].status) {
        rows[k].status = status;
        out.write_rows("/sweep/status", static_cast<int64_t>(k), 1, &status);
      }
    }
  }
  const bool complete = std::all_of(rows.begin(), rows.end(), [](const SweepRow& r) { return r.status == kDone; });
  out.set_string_attribute("/", "status", complete ? "done" : "running");
  out.close();
  return rows;
}

}  // namespace switchdiff::pipeline
