#include "pipeline/fid_jackknife_job.h"

#include <ATen/ATen.h>

#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "experts/feature_extractor.h"
#include "io/dataset_file.h"
#include "io/h5_file.h"
#include "io/reference_stats.h"
#include "pipeline/compute_device.h"
#include "pipeline/stats_job.h"

namespace switchdiff::pipeline {

metrics::FidJackknife run_fid_jackknife_job(const dist::Communicator& comm, const FidJackknifeJob& job) {
  io::DatasetReader reader(job.samples_path);
  const int64_t n = reader.size();
  if (job.groups < 2 || n < 2 * job.groups) {
    throw make_error<ConfigError>(
        "sweep.fid_jackknife_groups = {} needs at least 2 groups of 2 samples; {} holds {} "
        "samples (set it to 0 to skip the FID standard error)",
        job.groups, job.samples_path, n);
  }
  const experts::FeatureExtractor extractor(job.extractor_path, compute_device(comm, job.device));
  const io::FeatureStatistics reference = io::read_feature_statistics(job.reference_path);
  std::vector<metrics::InceptionStats> groups;
  FeatureStatsOptions options;
  options.batch = job.batch;
  for (int64_t g = 0; g < job.groups; ++g) {
    const int64_t begin = g * n / job.groups, end = (g + 1) * n / job.groups;
    options.progress_label = fmt::format("FID jackknife group {}/{}", g + 1, job.groups);
    const FeatureStatsResult result = compute_feature_stats(
        comm, extractor, end - begin,
        [&](int64_t b, int64_t e) { return reader.read_images_tensor(begin + b, begin + e); }, options);
    groups.push_back(result.stats);
  }
  const metrics::FidJackknife jackknife =
      metrics::jackknife_fid(groups, reference.mu.to(at::kDouble), reference.sigma.to(at::kDouble));
  if (comm.is_root()) {
    const std::string partial = job.output_path + ".partial";
    io::H5File file = io::H5File::create(partial, /*overwrite=*/true);
    write_run_metadata(file, job.meta);
    file.write("/fid_leave_one_out", jackknife.leave_one_out);
    file.set_double_attribute("/", "fid_stderr", jackknife.standard_error);
    file.set_int_attribute("/", "groups", job.groups);
    file.set_string_attribute("/", "method", "delete-a-group jackknife over contiguous seed groups");
    file.close();
    std::filesystem::rename(partial, job.output_path);
  }
  comm.barrier();
  return jackknife;
}

}  // namespace switchdiff::pipeline
