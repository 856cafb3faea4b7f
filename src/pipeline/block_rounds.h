#pragma once
// The shape every sharded single-point job shares (docs/design.md): fixed global blocks of a ShardPlan,
// computed round by round (round j: block j*W + r on rank r), each block's result gathered to rank 0 as a
// fixed-length payload and committed there as its own record file. Between rounds every rank checks
// collectively for a stop request, so all ranks stop after the same round with progress saved.
//
// Storage (docs/formats.md#work-folders): `<final>.work/identity.txt`, `lock`, `blocks/b<k>.h5`. A record
// is written whole under `.partial`, fsync'd and renamed (pipeline/durable_file.h), so a record that exists is
// complete, whatever moment a run is killed at; one that cannot be read is moved aside (`.damaged`) and
// computed again. The final file is assembled from the records, written under `<final>.partial` and committed
// the same way; only then is the work folder removed.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "dist/communicator.h"
#include "dist/shard_plan.h"
#include "io/h5_file.h"

namespace switchdiff::pipeline {

class FolderLock;

struct BlockRoundsJob {
  std::string label;             // progress label ("sample", "nll")
  std::string unit;              // "samples", "images"
  int64_t item_length = 0;       // payload elements per item (pixels of a sample, columns of an image)
  at::ScalarType payload_dtype;  // uint8 or float64
  // Owner rank: the block's result, block.size() * item_length elements.
  std::function<at::Tensor(const dist::Block&)> compute;
  // Rank 0, while writing the final file: store a block's payload (block.size() * item_length elements).
  std::function<void(io::H5File&, const dist::Block&, const at::Tensor&)> store;
};

// Where a job stands, on every rank. Rank 0 holds the work folder's lock for the object's lifetime.
struct WorkState {
  std::vector<uint8_t> done;  // per block: its record exists and is complete
  bool finished = false;      // the final file is already complete (an earlier run was stopped tidying up)
  std::shared_ptr<FolderLock> lock;
};

// Collective. Rank 0 checks the output path, creates or resumes the work folder of `final_path` and lists the
// complete records. `identity` (one `key = value` per line) is what the blocks depend on: a work folder of
// another identity is refused (ConfigError listing the differing lines). An existing final file is never
// overwritten (ConfigError), except that a final file of this identity beside a work folder is a run that
// finished and was stopped while removing its work folder: the folder is removed and `finished` set.
WorkState open_work(const dist::Communicator& comm, const std::string& final_path, const std::string& identity,
                    const dist::ShardPlan& plan, const BlockRoundsJob& job);

// Runs the rounds for the blocks not done. Throws Interrupted after a stop request (progress saved). On return
// every block's record exists.
void run_block_rounds(const dist::Communicator& comm, const dist::ShardPlan& plan, WorkState& state,
                      const std::string& final_path, const BlockRoundsJob& job, double* seconds = nullptr);

// Rank 0: writes the final file whole and commits it: `initialize` (metadata and the datasets blocks fill), every
// block through job.store in block order, `finalize` (summaries read back from the file), the root attributes
// `run_identity` and `status = done`. Then removes the work folder.
void write_final_file(const std::string& final_path, const std::string& identity, const dist::ShardPlan& plan,
                      const BlockRoundsJob& job, const std::function<void(io::H5File&)>& initialize,
                      const std::function<void(io::H5File&)>& finalize = {});

// One `key = value` line per `|`-separated field of a compact identity string (the form the jobs build).
std::string identity_lines(const std::string& compact);

}  // namespace switchdiff::pipeline
