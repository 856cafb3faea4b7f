#include "pipeline/sweep_results.h"

#include <fmt/format.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "core/file_hash.h"
#include "io/dataset_file.h"
#include "io/h5_file.h"
#include "io/reference_stats.h"
#include "likelihood/dequantization.h"
#include "metrics/fid_jackknife.h"
#include "metrics/frechet_distance.h"
#include "metrics/inception_score.h"
#include "metrics/inception_stats.h"
#include "pipeline/durable_file.h"
#include "pipeline/fid_job.h"
#include "pipeline/nll_job.h"
#include "pipeline/output_path.h"
#include "pipeline/run_metadata.h"
#include "pipeline/stats_job.h"
#include "pipeline/sweep_blocks.h"
#include "pipeline/sweep_job.h"
#include "pipeline/work_folder.h"

namespace switchdiff::pipeline {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The /sweep columns, each bound to its SweepRow member. Integers are stored as int64.
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

std::string lock_path(const std::string& output_path) { return work_folder(output_path) + "/lock"; }
std::string pass_path(const std::string& output_path) { return work_folder(output_path) + "/pass.txt"; }
bool exists(const std::string& path) { return std::filesystem::exists(path); }

// The stored identity plus what the files themselves are: the experts' and extractor's SHA-256.
std::string full_identity(const SweepJob& job) {
  std::string text = job.identity + "\nexperts = " + job.model->fingerprint() + "\n";
  if (job.extractor_path) text += "extractor sha256 = " + core::sha256_file(*job.extractor_path) + "\n";
  if (job.reference_path) text += "reference sha256 = " + core::sha256_file(*job.reference_path) + "\n";
  return text;
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

void write_rows(io::H5File& file, const std::vector<SweepRow>& rows) {
  for (const Column& c : kColumns) {
    const std::string path = std::string("/sweep/") + c.name;
    if (file.exists(path)) file.remove(path);
    if (c.real) {
      std::vector<double> v;
      for (const SweepRow& r : rows) v.push_back(r.*c.real);
      file.write(path, v);
    } else {
      std::vector<int64_t> v;
      for (const SweepRow& r : rows) v.push_back(r.*c.integer);
      file.write(path, v);
    }
  }
}

std::vector<SweepRow> read_rows(const io::H5File& file) {
  const auto n = static_cast<size_t>(file.dataset_info("/sweep/switch_sigma").rows());
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

SweepRow pending_row(const SweepPoint& p) {
  SweepRow row;
  row.switch_sigma = p.switch_sigma;
  row.switch_step = p.switch_step;
  row.fid = row.fid_stderr = row.inception_score = row.nll_bpd = row.nll_bpd_stderr = row.nll_nfe_mean = kNaN;
  row.elbo_bpd = row.elbo_bpd_stderr = row.sample_nfe_mean = kNaN;
  row.status = kPending;
  return row;
}

// A new results file: the old one copied (or a new one with the run's metadata), changed by `edit`, committed.
template <class Edit>
void rewrite_results(const SweepJob& job, const std::string& identity, Edit edit) {
  write_durably(job.output_path, [&](const std::string& partial) {
    if (exists(job.output_path)) {
      std::error_code error;
      std::filesystem::copy_file(job.output_path, partial, std::filesystem::copy_options::overwrite_existing, error);
      if (error) throw make_error<IoError>("cannot copy {} to {}: {}", job.output_path, partial, error.message());
    } else {
      io::H5File file = io::H5File::create(partial, /*overwrite=*/true);
      write_run_metadata(file, job.meta);
      file.set_string_attribute("/", "run_identity", identity);
      file.set_int_attribute("/", "seed_base", job.seed_base);
      file.set_int_attribute("/", "nll_seed", job.nll_options.seed);
      file.set_string_attribute("/", "bpd_formula", likelihood::bpd_formula(job.nll_options.dequantization));
      job.model->write_expert_attributes(file);
      file.close();
    }
    io::H5File file = io::H5File::open(partial, true);
    edit(file);
    file.close();
  });
}

// What a pass is: its points and blocks. A pass in progress must be resumed with the same text.
std::string pass_description(const SweepJob& job, const SweepPass& pass, const std::string& identity) {
  std::string text = identity + "\npass rows =";
  for (size_t i = 0; i < pass.rows.size(); ++i) text += fmt::format(" {}:{:.17g}", pass.rows[i], pass.switch_sigmas[i]);
  text += fmt::format("\nsamples = {} in blocks of {}\ntest images = {} in blocks of {}\nfid.batch = {}\n",
                      pass.samples.num_items(), pass.samples.block_size(), pass.images.num_items(),
                      pass.images.block_size(), job.fid_batch);
  text += fmt::format("preview_images = {}\nkeep_samples = {}\n", job.preview_images, job.keep_samples);
  return text;
}

// Whether every row of a stored pass description ("pass rows = <row>:<sigma> ...") is done in `rows`: the pass
// was assembled, and the description is left over (a run killed between committing the results and removing it).
bool stored_pass_finished(const std::string& stored, const std::vector<SweepRow>& rows) {
  const std::string key = "\npass rows =";
  const size_t start = stored.find(key);
  if (start == std::string::npos) return false;
  std::istringstream line(stored.substr(start + key.size(), stored.find('\n', start + 1) - start - key.size()));
  bool any = false;
  for (std::string token; line >> token; any = true) {
    const int64_t row = std::stoll(token.substr(0, token.find(':')));
    if (row < 0 || row >= static_cast<int64_t>(rows.size()) || rows[static_cast<size_t>(row)].status != kDone) {
      return false;
    }
  }
  return any;
}

int64_t test_image_count(const SweepJob& job) {
  if (!job.nll_dataset || job.nll_count == 0) return 0;
  const io::DatasetReader reader(*job.nll_dataset);
  const int64_t count = job.nll_count < 0 ? reader.size() : job.nll_count;
  if (count < 1 || count > reader.size()) {
    throw make_error<ConfigError>("nll.count = {}: {} holds {} images; choose 1..{} or leave nll.count unset",
                                  job.nll_count, *job.nll_dataset, reader.size(), reader.size());
  }
  return count;
}

}  // namespace

std::vector<SweepRow> read_sweep_rows(const std::string& output_path) {
  return read_rows(io::H5File::open(output_path, false));
}

SweepPass open_sweep(const SweepJob& job, std::vector<SweepRow>* rows_out) {
  ensure_writable_output(job.output_path);
  const std::string work = work_folder(job.output_path);
  const bool created = !exists(work);
  create_folders(work);
  try {
    FolderLock lock(lock_path(job.output_path), job.output_path, /*wait=*/true);
    const std::string identity = full_identity(job);
    std::vector<SweepRow> rows;
    if (exists(job.output_path)) {
      const io::H5File file = io::H5File::open_input(job.output_path);  // InputError for a non-HDF5 file
      if (!file.has_attribute("/", "run_identity") || !file.is_group("/sweep")) {
        throw make_error<ConfigError>(
            "{} exists and is not a switchdiff sweep results file; it is never overwritten: choose another "
            "output.path",
            job.output_path);
      }
      check_identity(job.output_path, file.string_attribute("/", "run_identity"), identity, job.output_path);
      rows = read_rows(file);
    }
    const std::string identity_file = work + "/identity.txt";
    if (exists(identity_file)) {
      check_identity(work, read_text(identity_file), identity, job.output_path);
    } else {
      write_text(identity_file, identity);
    }
    // Each point of the config is the first unused row with its switch sigma and step; new points get new rows.
    std::vector<bool> used(rows.size(), false);
    std::vector<int64_t> point_rows;
    bool added = !exists(job.output_path);
    for (const SweepPoint& p : job.points) {
      size_t k = 0;
      while (k < rows.size() &&
             (used[k] || rows[k].switch_sigma != p.switch_sigma || rows[k].switch_step != p.switch_step))
        ++k;
      if (k == rows.size()) {
        rows.push_back(pending_row(p));
        used.push_back(false);
        added = true;
      }
      used[k] = true;
      point_rows.push_back(static_cast<int64_t>(k));
    }
    if (added) {
      rewrite_results(job, identity, [&](io::H5File& file) {
        write_rows(file, rows);
        file.set_string_attribute("/", "status", "running");
      });
    }
    SweepPass pass;
    for (size_t j = 0; j < point_rows.size(); ++j) {
      const int64_t k = point_rows[j];
      if (rows[static_cast<size_t>(k)].status != kDone) {
        pass.rows.push_back(k);
        pass.switch_sigmas.push_back(job.points[j].switch_sigma);
      }
    }
    *rows_out = rows;
    if (pass.rows.empty()) return pass;
    pass.samples = dist::ShardPlan(job.sample_count, job.sample_batch, 1);
    pass.images = dist::ShardPlan(test_image_count(job), job.nll_batch, 1);
    const std::string text = pass_description(job, pass, identity);
    if (exists(pass_path(job.output_path)) && stored_pass_finished(read_text(pass_path(job.output_path)), rows)) {
      remove_tree(pass_path(job.output_path));  // assembled by a run killed before it removed the description
    }
    if (exists(pass_path(job.output_path))) {
      const std::string stored = read_text(pass_path(job.output_path));
      if (stored != text) {
        throw make_error<ConfigError>(
            "{} holds a pass in progress over other points or blocks; finish it first by running with the same "
            "sweep points and batch sizes, or delete {} and {} to start the pass over. Differences:{}",
            work, pass_path(job.output_path), records_folder(job.output_path), identity_difference(stored, text));
      }
    } else {
      remove_tree(records_folder(job.output_path));  // records of an abandoned pass
      write_text(pass_path(job.output_path), text);
    }
    create_folders(records_folder(job.output_path));
    return pass;
  } catch (const Error&) {
    if (created) std::filesystem::remove_all(work);  // a refused run leaves nothing behind
    throw;
  }
}

namespace {

at::Tensor read_tensor(const io::H5File& file, const std::string& path) {
  const io::DatasetInfo info = file.dataset_info(path);
  const std::vector<double> values = file.read<double>(path);
  return at::tensor(values, at::kDouble).reshape(info.shape);
}

// Point p of the pass from the sample records: statistics by seed group (the jackknife's groups, or one),
// Inception Score, preview images and, when kept, all samples.
struct SampleReduction {
  std::vector<metrics::InceptionStats> groups;
  std::optional<metrics::InceptionScoreAccumulator> score;
  std::vector<uint8_t> images;  // rows kept by the records, in seed order
  std::vector<int64_t> image_shape;
  int64_t performed = 0, performed_quality = 0;
};

SampleReduction reduce_samples(const SweepJob& job, const SweepPass& pass, size_t p) {
  SampleReduction r;
  const int64_t n = job.sample_count;
  const int64_t num_groups = job.reference_path && job.fid_jackknife_groups >= 2 ? job.fid_jackknife_groups : 1;
  for (int64_t b = 0; b < pass.samples.num_blocks(); ++b) {
    const io::H5File record = io::H5File::open(record_path(job.output_path, pass, b), false);
    const int64_t begin = record.int_attribute("/", "begin"), end = record.int_attribute("/", "end");
    r.performed += record.int_attribute("/", "performed_calls_per_image") * (end - begin);
    r.performed_quality += record.int_attribute("/", "performed_quality_calls_per_image") * (end - begin);
    const std::string group = fmt::format("/p{}", p);
    if (record.exists(group + "/images")) {
      const io::DatasetInfo info = record.dataset_info(group + "/images");
      const std::vector<uint8_t> rows = record.read<uint8_t>(group + "/images");
      r.images.insert(r.images.end(), rows.begin(), rows.end());
      r.image_shape = info.shape;
    }
    if (!record.exists(group + "/features")) continue;
    const at::Tensor features = read_tensor(record, group + "/features");
    if (r.groups.empty()) r.groups.assign(static_cast<size_t>(num_groups), metrics::InceptionStats(features.size(1)));
    // Group g holds seeds [g n / G, (g + 1) n / G) (metrics/fid_jackknife.h); add each group's part of the block.
    for (int64_t g = 0; g < num_groups; ++g) {
      const int64_t lo = std::max(begin, g * n / num_groups), hi = std::min(end, (g + 1) * n / num_groups);
      if (lo < hi) r.groups[static_cast<size_t>(g)].add(features.narrow(0, lo - begin, hi - lo));
    }
    // The Inception Score needs every split non-empty; below that many samples it is left out, as `stats` does.
    const int64_t splits = FeatureStatsOptions{}.inception_score_splits;
    if (record.exists(group + "/logits") && n >= splits) {
      const at::Tensor logits = read_tensor(record, group + "/logits");
      if (!r.score) r.score.emplace(n, logits.size(1), splits);
      r.score->add(logits, begin);
    }
  }
  return r;
}

void write_samples_file(const SweepJob& job, int64_t row, const SampleReduction& r) {
  const std::string path = fmt::format("{}.samples/point_{}.h5", job.output_path, row);
  create_folders(std::filesystem::path(path).parent_path().string());
  // An earlier pass's copy of this same point's samples is replaced by the rename (same seeds, same numbers).
  write_durably(path, [&](const std::string& partial) {
    io::H5File file = io::H5File::create(partial, /*overwrite=*/true);
    write_run_metadata(file, job.meta);
    std::vector<int64_t> shape = r.image_shape;
    shape[0] = job.sample_count;
    file.write("/images", shape, r.images.data());
    std::vector<int64_t> seeds;
    for (int64_t i = 0; i < job.sample_count; ++i) seeds.push_back(job.seed_base + i);
    file.write("/seeds", seeds);
    file.set_int_attribute("/", "seed_base", job.seed_base);
    job.model->write_expert_attributes(file);
    file.close();
  });
}

void add_attribute(io::H5File& file, const std::string& name, int64_t value) {
  const int64_t old = file.has_attribute("/performed", name) ? file.int_attribute("/performed", name) : 0;
  file.set_int_attribute("/performed", name, old + value);
}

}  // namespace

std::vector<SweepRow> assemble_sweep(const SweepJob& job, const SweepPass& pass) {
  FolderLock lock(lock_path(job.output_path), job.output_path, /*wait=*/true);
  std::vector<SweepRow> rows = read_rows(io::H5File::open(job.output_path, false));
  if (std::all_of(pass.rows.begin(), pass.rows.end(),
                  [&](int64_t k) { return rows[static_cast<size_t>(k)].status == kDone; })) {
    return rows;  // another array task assembled this pass
  }
  const std::string identity = full_identity(job);
  std::optional<io::FeatureStatistics> reference;
  if (job.reference_path) reference = io::read_feature_statistics(*job.reference_path);
  PerformedEvaluations performed;
  rewrite_results(job, identity, [&](io::H5File& out) {
    for (size_t p = 0; p < pass.rows.size(); ++p) {
      const int64_t k = pass.rows[p];
      SweepRow& row = rows[static_cast<size_t>(k)];
      const std::string group = fmt::format("/points/{}", k);
      if (out.exists(group)) out.remove(group);  // a point not done has nothing final to keep
      out.create_group(group);
      out.set_double_attribute(group, "switch_sigma", row.switch_sigma);
      out.set_int_attribute(group, "switch_step", row.switch_step);
      if (pass.samples.num_items() > 0) {
        SampleReduction r = reduce_samples(job, pass, p);
        if (p == 0) {
          performed.sample_quality = r.performed_quality;
          performed.sample_likelihood = r.performed - r.performed_quality;
        }
        const int64_t per_sample = sampling::evaluations_per_sample(job.sampler);
        performed.sample_attributable += per_sample * job.sample_count;
        row.n_samples = job.sample_count;
        row.sample_nfe_mean = static_cast<double>(per_sample);
        if (!r.image_shape.empty()) {
          const int64_t pixels = r.image_shape[1] * r.image_shape[2] * r.image_shape[3];
          const int64_t shown = std::min<int64_t>(job.preview_images, static_cast<int64_t>(r.images.size()) / pixels);
          std::vector<int64_t> shape = r.image_shape;
          shape[0] = shown;
          out.write(group + "/images", shape, r.images.data());
          if (job.keep_samples || !job.extractor_path) write_samples_file(job, k, r);
        }
        if (!r.groups.empty()) {
          metrics::InceptionStats total = r.groups.front();
          for (size_t g = 1; g < r.groups.size(); ++g) total += r.groups[g];
          const at::Tensor mu = total.mean().contiguous(), sigma = total.covariance().contiguous();
          out.write(group + "/inception_mu", {mu.size(0)}, mu.data_ptr<double>());
          out.write(group + "/inception_sigma", {sigma.size(0), sigma.size(1)}, sigma.data_ptr<double>());
          out.set_string_attribute(group, "extractor", *job.extractor_path);
          if (r.score) row.inception_score = r.score->result().mean;
          if (reference) {
            const at::Tensor ref_mu = reference->mu.to(at::kDouble), ref_sigma = reference->sigma.to(at::kDouble);
            row.fid = metrics::frechet_distance(mu, sigma, ref_mu, ref_sigma);
            out.set_string_attribute("/sweep", "fid_metric", fid_metric_name(reference->extractor.name));
            if (r.groups.size() >= 2) {
              const metrics::FidJackknife jackknife = metrics::jackknife_fid(r.groups, ref_mu, ref_sigma);
              out.write(group + "/fid_leave_one_out", jackknife.leave_one_out);
              row.fid_stderr = jackknife.standard_error;
            }
          }
        }
      }
      if (pass.images.num_items() > 0) {
        std::vector<std::vector<double>> columns(kNumNllColumns);
        for (int64_t b = pass.samples.num_blocks(); b < pass.num_blocks(); ++b) {
          const io::H5File record = io::H5File::open(record_path(job.output_path, pass, b), false);
          const at::Tensor values = read_tensor(record, fmt::format("/p{}/values", p));
          for (int64_t c = 0; c < kNumNllColumns; ++c) {
            const at::Tensor column = values.select(1, c).contiguous();
            columns[c].insert(columns[c].end(), column.data_ptr<double>(), column.data_ptr<double>() + column.numel());
          }
          if (p == 0) {
            performed.nll_quality += record.int_attribute("/", "performed_quality_nfe");
            performed.nll_likelihood += record.int_attribute("/", "performed_likelihood_nfe");
            performed.elbo_quality += record.int_attribute("/", "performed_quality_elbo");
            performed.elbo_likelihood += record.int_attribute("/", "performed_likelihood_elbo");
          }
        }
        const double repeats = static_cast<double>(job.nll_options.repeats);
        for (double v : columns[kNfe]) performed.nll_attributable += std::llround(v * repeats);
        out.write(group + "/nll_bpd_per_image", columns[kNllBpd]);
        out.write(group + "/nll_nfe_per_image", columns[kNfe]);
        std::tie(row.nll_bpd, row.nll_bpd_stderr) = mean_and_stderr(columns[kNllBpd]);
        row.nll_nfe_mean = mean_and_stderr(columns[kNfe]).first;
        row.n_test = pass.images.num_items();
        if (job.nll_options.elbo) {
          out.write(group + "/elbo_bpd_per_image", columns[kElboBpd]);
          std::tie(row.elbo_bpd, row.elbo_bpd_stderr) = mean_and_stderr(columns[kElboBpd]);
          for (double v : columns[kElboNfe]) performed.elbo_attributable += std::llround(v * repeats);
        }
        out.set_double_attribute(group, "ode_sigma_min", job.nll_options.ode.sigma_min);
      }
      row.status = kDone;
    }
    write_rows(out, rows);
    add_attribute(out, "sample_quality", performed.sample_quality);
    add_attribute(out, "sample_likelihood", performed.sample_likelihood);
    add_attribute(out, "sample_attributable", performed.sample_attributable);
    add_attribute(out, "nll_quality", performed.nll_quality);
    add_attribute(out, "nll_likelihood", performed.nll_likelihood);
    add_attribute(out, "nll_attributable", performed.nll_attributable);
    add_attribute(out, "elbo_quality", performed.elbo_quality);
    add_attribute(out, "elbo_likelihood", performed.elbo_likelihood);
    add_attribute(out, "elbo_attributable", performed.elbo_attributable);
    const bool complete = std::all_of(rows.begin(), rows.end(), [](const SweepRow& r) { return r.status == kDone; });
    out.set_string_attribute("/", "status", complete ? "done" : "running");
  });
  // The results are committed: the pass's records are no longer needed.
  // The description first: without it, leftover records are an abandoned pass's and removed by the next pass.
  remove_tree(pass_path(job.output_path));
  remove_tree(records_folder(job.output_path));
  return rows;
}

}  // namespace switchdiff::pipeline
