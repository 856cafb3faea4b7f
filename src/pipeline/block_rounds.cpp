#include "pipeline/block_rounds.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "core/error.h"
#include "core/log.h"
#include "pipeline/output_path.h"
#include "pipeline/stop_request.h"

namespace switchdiff::pipeline {
namespace {
constexpr const char* kDoneFlags = "/block_done";
std::string work_path_of(const std::string& final_path) { return final_path + ".partial"; }
}  // namespace

std::vector<uint8_t> open_work_file(const dist::Communicator& comm, const std::string& final_path,
                                    const std::string& identity, int64_t num_blocks,
                                    const std::function<void(io::H5File&)>& initialize) {
  std::string failure;
  std::vector<uint8_t> done(static_cast<size_t>(num_blocks), 0);
  if (comm.is_root()) {
    try {
      ensure_writable_output(final_path);
      if (std::filesystem::exists(final_path)) {
        throw make_error<ConfigError>("{} already exists and is never overwritten; choose another --output.path or "
                                      "delete the file",
                                      final_path);
      }
      const std::string work = work_path_of(final_path);
      if (std::filesystem::exists(work)) {
        io::H5File file = io::H5File::open(work, true);
        const std::string stored =
            file.has_attribute("/", "run_identity") ? file.string_attribute("/", "run_identity") : "";
        if (stored != identity) {
          throw make_error<ConfigError>(
              "{} holds an interrupted run with another configuration or other experts; resume it with the same "
              "config, or delete it to start over\n  stored:  {}\n  current: {}",
              work, stored, identity);
        }
        done = file.read<uint8_t>(kDoneFlags);
        if (static_cast<int64_t>(done.size()) != num_blocks) {
          throw make_error<ConfigError>("{}: {} blocks recorded, this run has {}; delete the file to start over", work,
                                        done.size(), num_blocks);
        }
        core::info("resuming {}: {}/{} blocks already done", work, std::count(done.begin(), done.end(), uint8_t{1}),
                   num_blocks);
      } else {
        io::H5File file = io::H5File::create(work);
        file.set_string_attribute("/", "run_identity", identity);
        initialize(file);
        file.write(kDoneFlags, done);
        file.flush();
      }
    } catch (const Error& e) {
      failure = e.what();
    }
  }
  comm.broadcast(failure);
  if (!failure.empty()) throw ConfigError(failure);
  at::Tensor flags = at::from_blob(done.data(), {num_blocks}, at::kByte).clone();
  comm.broadcast(flags);
  std::copy(flags.data_ptr<uint8_t>(), flags.data_ptr<uint8_t>() + num_blocks, done.begin());
  return done;
}

void run_block_rounds(const dist::Communicator& comm, const dist::ShardPlan& plan, std::vector<uint8_t> done,
                      const std::string& final_path, const BlockRoundsJob& job, double* seconds) {
  std::optional<io::H5File> file;
  if (comm.is_root()) file.emplace(io::H5File::open(work_path_of(final_path), true));
  const int64_t world = comm.size();
  const int64_t rounds = (plan.num_blocks() + world - 1) / world;
  int64_t finished = 0;
  for (int64_t b = 0; b < plan.num_blocks(); ++b) finished += done[static_cast<size_t>(b)] ? plan.block(b).size() : 0;
  core::Progress progress(job.label, plan.num_items(), job.unit);
  progress.update(finished);
  for (int64_t round = 0; round < rounds; ++round) {
    const int64_t mine = round * world + comm.rank();
    at::Tensor payload = at::zeros({job.payload_length}, job.payload_dtype);
    if (mine < plan.num_blocks() && !done[static_cast<size_t>(mine)]) {
      const at::Tensor result = job.compute(plan.block(mine)).reshape(-1).to(job.payload_dtype);
      payload.narrow(0, 0, result.numel()).copy_(result);
    }
    const at::Tensor gathered = comm.all_gather(payload);
    for (int64_t r = 0; r < world; ++r) {
      const int64_t b = round * world + r;
      if (b >= plan.num_blocks() || done[static_cast<size_t>(b)]) continue;
      if (comm.is_root()) {
        job.store(*file, plan.block(b), gathered.narrow(0, r * job.payload_length, job.payload_length));
        const uint8_t one = 1;
        file->write_rows(kDoneFlags, b, 1, &one);
      }
      done[static_cast<size_t>(b)] = 1;
      finished += plan.block(b).size();
    }
    if (file) file->flush();
    progress.update(finished);
    if (round + 1 < rounds && comm.any(stop_requested())) {
      throw make_error<Interrupted>("stopped by a signal after {}/{} {}; progress is saved in {}; run the same "
                                    "command again to resume",
                                    finished, plan.num_items(), job.unit, work_path_of(final_path));
    }
  }
  progress.finish();
  if (seconds) *seconds = progress.elapsed_seconds();
}

void finish_work_file(const std::string& final_path) {
  const std::string work = work_path_of(final_path);
  {
    io::H5File file = io::H5File::open(work, true);
    file.remove(kDoneFlags);
    file.set_string_attribute("/", "status", "done");
    file.close();
  }
  std::filesystem::rename(work, final_path);
}

}  // namespace switchdiff::pipeline
