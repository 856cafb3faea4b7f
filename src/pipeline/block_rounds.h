#pragma once
// The shape every sharded job shares (docs/design.md): fixed global blocks of a ShardPlan, computed round by
// round (round j: block j*W + r on rank r), each block's result gathered to rank 0 as a fixed-length
// payload, stored there, and marked done in a resumable work file. Between rounds every rank checks
// collectively for a stop request, so all ranks stop after the same round with progress saved.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "dist/communicator.h"
#include "dist/shard_plan.h"
#include "io/h5_file.h"

namespace switchdiff::pipeline {

struct BlockRoundsJob {
  std::string label;             // progress label ("sample", "nll")
  std::string unit;              // "samples", "images"
  int64_t payload_length = 0;    // elements per block payload (the largest block's)
  at::ScalarType payload_dtype;  // uint8 or float64
  // Owner rank: the block's result as a 1-D tensor of at most payload_length elements.
  std::function<at::Tensor(const dist::Block&)> compute;
  // Rank 0: store a block's payload (its first `length` elements are valid) into the work file.
  std::function<void(io::H5File&, const dist::Block&, const at::Tensor&)> store;
};

// Rank 0 opens the work file `<final_path>.partial`: creates it with `initialize` (which writes the datasets
// that blocks fill) or, when it exists, checks that its stored `identity` equals this run's (ConfigError
// otherwise). The final path must not exist (results are never overwritten). Every rank gets the done flags.
std::vector<uint8_t> open_work_file(const dist::Communicator& comm, const std::string& final_path,
                                    const std::string& identity, int64_t num_blocks,
                                    const std::function<void(io::H5File&)>& initialize);

// Runs the rounds. Throws Interrupted after a stop request (progress saved). On return every block is done
// and rank 0 holds the open work file in `work_file` (if given) for the final writes.
void run_block_rounds(const dist::Communicator& comm, const dist::ShardPlan& plan, std::vector<uint8_t> done,
                      const std::string& final_path, const BlockRoundsJob& job, double* seconds = nullptr);

// Rank 0: removes the bookkeeping, marks the file done and renames `<final_path>.partial` to final_path.
void finish_work_file(const std::string& final_path);

}  // namespace switchdiff::pipeline
