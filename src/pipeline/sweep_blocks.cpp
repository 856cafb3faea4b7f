#include "pipeline/sweep_blocks.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "core/seeded_noise.h"
#include "io/h5_file.h"
#include "likelihood/shared_likelihood.h"
#include "pipeline/block_record.h"
#include "sampling/sample_batch.h"

namespace switchdiff::pipeline {
namespace {

template <class T>
void write_tensor(io::H5File& file, const std::string& path, const at::Tensor& values) {
  const at::Tensor c = values.contiguous();
  file.write(path, std::vector<int64_t>(c.sizes().begin(), c.sizes().end()), c.data_ptr<T>());
}

// Features (and logits) of a point's images, extracted in calls of at most fid.batch images.
void write_features(io::H5File& record, const std::string& group, const experts::FeatureExtractor& extractor,
                    const at::Tensor& images, int64_t fid_batch) {
  std::vector<at::Tensor> features, logits;
  for (int64_t begin = 0; begin < images.size(0); begin += fid_batch) {
    const at::Tensor part = images.narrow(0, begin, std::min(fid_batch, images.size(0) - begin));
    features.push_back(extractor.features(part).to(at::kCPU).to(at::kDouble));
    if (extractor.has_logits()) logits.push_back(extractor.logits(part).to(at::kCPU).to(at::kDouble));
  }
  write_tensor<double>(record, group + "/features", at::cat(features));
  if (extractor.has_logits()) write_tensor<double>(record, group + "/logits", at::cat(logits));
}

void compute_sample_block(const SweepBlockInputs& in, const dist::Block& block, io::H5File& record) {
  const SweepJob& job = *in.job;
  // Preview rows (global index < preview_images) always; every row when the samples are kept or are the product.
  const bool all_rows = job.keep_samples || in.extractor == nullptr;
  const int64_t kept = all_rows ? block.size() : std::clamp<int64_t>(job.preview_images - block.begin, 0, block.size());
  int64_t performed = 0;
  sampling::sample_seeds_sweep(
      in.sampling_merges, *in.trunk, core::consecutive_seeds(job.seed_base + block.begin, block.size()), job.sampler,
      [&](size_t p, const sampling::SampleBatch& batch) {
        const std::string group = fmt::format("/p{}", p);
        record.create_group(group);
        if (kept > 0) write_tensor<uint8_t>(record, group + "/images", batch.images.narrow(0, 0, kept));
        if (in.extractor) write_features(record, group, *in.extractor, batch.images, job.fid_batch);
      },
      &performed);
  record.set_int_attribute("/", "performed_calls_per_image", performed);
  record.set_int_attribute("/", "performed_quality_calls_per_image",
                           sampling::plan_sweep_sampling(in.sampling_merges, job.sampler).performed_top_band_calls);
}

void compute_test_block(const SweepBlockInputs& in, const dist::Block& block, io::H5File& record) {
  const SweepJob& job = *in.job;
  std::vector<int64_t> indices;
  for (int64_t i = block.begin; i < block.end; ++i) indices.push_back(i);
  const likelihood::SharedLikelihoodResult result = likelihood::estimate_likelihood_shared(
      in.likelihood_merges, in.test_images->read_images_tensor(block.begin, block.end), indices, job.nll_options,
      *job.nll_dataset);
  const auto nan_column = at::full({block.size()}, std::numeric_limits<double>::quiet_NaN(), at::kDouble);
  for (size_t p = 0; p < result.points.size(); ++p) {
    const likelihood::LikelihoodEstimate& e = result.points[p];
    const bool elbo = job.nll_options.elbo && e.elbo_bpd.defined();
    const at::Tensor values =
        at::stack({e.nll_bpd, e.nfe.to(at::kDouble).mean(1), e.accepted.to(at::kDouble).mean(1),
                   e.rejected.to(at::kDouble).mean(1), elbo ? e.elbo_bpd : nan_column,
                   elbo ? e.elbo_bpd_stderr : nan_column, elbo ? e.elbo_nfe.to(at::kDouble).mean(1) : nan_column},
                  1);
    write_tensor<double>(record, fmt::format("/p{}/values", p), values);
  }
  record.set_int_attribute("/", "performed_quality_nfe", result.performed_quality_nfe);
  record.set_int_attribute("/", "performed_likelihood_nfe", result.performed_likelihood_nfe);
  record.set_int_attribute("/", "performed_quality_elbo", result.performed_quality_elbo);
  record.set_int_attribute("/", "performed_likelihood_elbo", result.performed_likelihood_elbo);
}

}  // namespace

void compute_sweep_block(const SweepBlockInputs& in, int64_t b) {
  const SweepPass& pass = *in.pass;
  const std::string path = record_path(in.job->output_path, pass, b);
  const dist::Block block = pass.block(b);
  // A private partial (`.partial.<pid>`): two runs computing the same block (a plain sweep started while an
  // array runs) each write their own file, and either rename is a complete record of the same numbers.
  write_block_record(
      path, block,
      [&](io::H5File& record) {
        if (pass.is_sample_block(b)) {
          compute_sample_block(in, block, record);
        } else {
          compute_test_block(in, block, record);
        }
      },
      /*private_partial=*/true);
}

}  // namespace switchdiff::pipeline
