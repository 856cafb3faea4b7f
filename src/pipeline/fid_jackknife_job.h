#pragma once
// The standard error of a sample set's FID (metrics/fid_jackknife.h) for `switchdiff sweep`: the samples are cut
// into G contiguous seed groups, each group's feature statistics are computed over all ranks (as `stats` does),
// and the leave-one-group-out FIDs against the reference give the jackknife SE. Groups follow seed order, so
// two sweep points (same seeds) are grouped alike and their FID difference has a paired error
// (analysis/compare_points.py). One more extractor pass over the samples; no sampling.
#include <string>

#include "dist/communicator.h"
#include "metrics/fid_jackknife.h"
#include "pipeline/run_metadata.h"

namespace switchdiff::pipeline {

struct FidJackknifeJob {
  std::string samples_path;    // HDF5 /images
  std::string reference_path;  // statistics (HDF5 or .npz)
  std::string extractor_path;
  int64_t groups = 10;
  int64_t batch = 64;
  std::string device = "auto";
  std::string output_path;  // /fid_leave_one_out [G]; attributes fid_stderr, groups
  RunMetadata meta;
};

// Collective; every rank returns the same result. ConfigError when the samples are fewer than 2 per group.
metrics::FidJackknife run_fid_jackknife_job(const dist::Communicator& comm, const FidJackknifeJob& job);

}  // namespace switchdiff::pipeline
