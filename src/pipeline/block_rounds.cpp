#include "pipeline/block_rounds.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "pipeline/block_record.h"
#include "pipeline/durable_file.h"
#include "pipeline/output_path.h"
#include "pipeline/stop_request.h"
#include "pipeline/work_folder.h"

namespace switchdiff::pipeline {
namespace {

std::string identity_path(const std::string& final_path) { return work_folder(final_path) + "/identity.txt"; }
std::string blocks_folder(const std::string& final_path) { return work_folder(final_path) + "/blocks"; }
std::string record_path(const std::string& final_path, int64_t block) {
  return fmt::format("{}/b{}.h5", blocks_folder(final_path), block);
}

at::Tensor read_payload(const std::string& path, at::ScalarType dtype, int64_t length) {
  const io::H5File record = io::H5File::open(path, false);
  if (dtype == at::kByte) {
    const std::vector<uint8_t> v = record.read<uint8_t>("/payload");
    if (static_cast<int64_t>(v.size()) != length)
      throw make_error<IoError>("{}: /payload has {} elements", path, v.size());
    return at::tensor(v, at::kByte);
  }
  const std::vector<double> v = record.read<double>("/payload");
  if (static_cast<int64_t>(v.size()) != length)
    throw make_error<IoError>("{}: /payload has {} elements", path, v.size());
  return at::tensor(v, at::kDouble);
}

// Why a record cannot be used ("" when it is a valid record of block b of this plan: pipeline/block_record.h).
std::string record_problem(const std::string& path, const dist::Block& block, const BlockRoundsJob& job) {
  return block_record_problem(path, block, [&](const io::H5File& record) -> std::string {
    const bool right_length = record.is_dataset("/payload") &&
                              record.dataset_info("/payload").num_elements() == block.size() * job.item_length;
    return right_length ? "" : "payload of the wrong length";
  });
}

void write_record(const std::string& final_path, const dist::Block& block, const at::Tensor& payload) {
  write_block_record(record_path(final_path, block.index), block, [&](io::H5File& record) {
    const at::Tensor values = payload.contiguous();
    if (values.scalar_type() == at::kByte) {
      record.write<uint8_t>("/payload", {values.numel()}, values.data_ptr<uint8_t>());
    } else {
      record.write<double>("/payload", {values.numel()}, values.data_ptr<double>());
    }
  });
}

// Rank 0's part of open_work.
WorkState open_on_root(const std::string& final_path, const std::string& identity, const dist::ShardPlan& plan,
                       const BlockRoundsJob& job) {
  ensure_writable_output(final_path);
  WorkState state;
  state.done.assign(static_cast<size_t>(plan.num_blocks()), 0);
  const std::string work = work_folder(final_path);
  const bool created = !std::filesystem::exists(work);
  if (std::filesystem::exists(final_path) && created) refuse_existing_output(final_path);
  create_folders(work);
  try {
    state.lock = std::make_shared<FolderLock>(work + "/lock", final_path, /*wait=*/false);
    if (std::filesystem::exists(final_path)) {
      bool same = false;
      try {
        const io::H5File file = io::H5File::open_input(final_path);
        same = file.has_attribute("/", "run_identity") && file.string_attribute("/", "run_identity") == identity &&
               file.has_attribute("/", "status") && file.string_attribute("/", "status") == "done";
      } catch (const Error&) {
      }
      if (!same) refuse_existing_output(final_path);
      core::info("{} is complete (an earlier run finished it); removing its work folder {}", final_path, work);
      state.finished = true;
      state.done.assign(state.done.size(), 1);
      remove_tree(work);
      return state;
    }
    const std::string stored = read_text(identity_path(final_path));
    if (!stored.empty() && stored != identity) {
      throw make_error<ConfigError>(
          "{} holds an interrupted run with another configuration or other experts; resume it with the same "
          "config (the batch size defines the blocks, so it too must be the same), or delete {} to start over. "
          "Differences:{}",
          work, work, identity_difference(stored, identity));
    }
    if (stored.empty()) {
      remove_tree(blocks_folder(final_path));  // records without an identity: nothing says what they are
      write_text(identity_path(final_path), identity);
    }
    create_folders(blocks_folder(final_path));
    for (int64_t b = 0; b < plan.num_blocks(); ++b) {
      const std::string path = record_path(final_path, b);
      if (!std::filesystem::exists(path)) continue;
      const std::string problem = record_problem(path, plan.block(b), job);
      if (problem.empty()) {
        state.done[static_cast<size_t>(b)] = 1;
      } else {
        move_aside_damaged(path, problem);
      }
    }
    const auto done = std::count(state.done.begin(), state.done.end(), uint8_t{1});
    if (!stored.empty()) core::info("resuming {}: {}/{} blocks already done", work, done, plan.num_blocks());
  } catch (const Error&) {
    state.lock.reset();
    if (created) std::filesystem::remove_all(work);  // a refused run leaves nothing behind
    throw;
  }
  return state;
}

}  // namespace

std::string identity_lines(const std::string& compact) {
  std::string text;
  size_t start = 0;
  while (start <= compact.size()) {
    const size_t bar = compact.find('|', start);
    std::string field = compact.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
    const size_t eq = field.find('=');
    if (start == 0)
      field = "experts = " + field;
    else if (eq != std::string::npos)
      field = field.substr(0, eq) + " = " + field.substr(eq + 1);
    text += field + "\n";
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return text;
}

WorkState open_work(const dist::Communicator& comm, const std::string& final_path, const std::string& identity,
                    const dist::ShardPlan& plan, const BlockRoundsJob& job) {
  std::string failure;
  int exit_code = 0;
  WorkState state;
  state.done.assign(static_cast<size_t>(plan.num_blocks()), 0);
  if (comm.is_root()) {
    try {
      state = open_on_root(final_path, identity, plan, job);
    } catch (const Error& e) {
      failure = e.what();
      exit_code = e.exit_code();
    }
  }
  comm.broadcast(failure);
  if (!failure.empty()) {
    if (exit_code == 2) throw IoError(failure);
    throw ConfigError(failure);
  }
  std::vector<uint8_t> flags = state.done;
  flags.push_back(state.finished ? 1 : 0);
  at::Tensor shared = at::from_blob(flags.data(), {static_cast<int64_t>(flags.size())}, at::kByte).clone();
  comm.broadcast(shared);
  std::copy(shared.data_ptr<uint8_t>(), shared.data_ptr<uint8_t>() + plan.num_blocks(), state.done.begin());
  state.finished = shared.data_ptr<uint8_t>()[plan.num_blocks()] != 0;
  return state;
}

void run_block_rounds(const dist::Communicator& comm, const dist::ShardPlan& plan, WorkState& state,
                      const std::string& final_path, const BlockRoundsJob& job, double* seconds) {
  const int64_t world = comm.size();
  const int64_t rounds = (plan.num_blocks() + world - 1) / world;
  const int64_t payload_length = plan.block_size() * job.item_length;
  std::vector<uint8_t>& done = state.done;
  int64_t finished = 0;
  for (int64_t b = 0; b < plan.num_blocks(); ++b) finished += done[static_cast<size_t>(b)] ? plan.block(b).size() : 0;
  core::Progress progress(job.label, plan.num_items(), job.unit);
  progress.update(finished);
  for (int64_t round = 0; round < rounds; ++round) {
    const int64_t first = round * world;
    const bool any_pending = [&] {
      for (int64_t b = first; b < std::min(first + world, plan.num_blocks()); ++b)
        if (!done[static_cast<size_t>(b)]) return true;
      return false;
    }();
    if (any_pending) {
      const int64_t mine = first + comm.rank();
      at::Tensor payload = at::zeros({payload_length}, job.payload_dtype);
      if (mine < plan.num_blocks() && !done[static_cast<size_t>(mine)]) {
        const at::Tensor result = job.compute(plan.block(mine)).reshape(-1).to(job.payload_dtype);
        payload.narrow(0, 0, result.numel()).copy_(result);
      }
      const at::Tensor gathered = world > 1 ? comm.all_gather(payload) : payload;
      for (int64_t r = 0; r < world; ++r) {
        const int64_t b = first + r;
        if (b >= plan.num_blocks() || done[static_cast<size_t>(b)]) continue;
        const dist::Block block = plan.block(b);
        if (comm.is_root()) {
          write_record(final_path, block, gathered.narrow(0, r * payload_length, block.size() * job.item_length));
        }
        done[static_cast<size_t>(b)] = 1;
        finished += block.size();
      }
    }
    progress.update(finished);
    if (round + 1 < rounds && comm.any(stop_requested())) {
      throw make_error<Interrupted>(
          "stopped by a signal after {}/{} {}; progress is saved in {}; run the same "
          "command again to resume",
          finished, plan.num_items(), job.unit, work_folder(final_path));
    }
  }
  progress.finish();
  if (seconds) *seconds = progress.elapsed_seconds();
}

void write_final_file(const std::string& final_path, const std::string& identity, const dist::ShardPlan& plan,
                      const BlockRoundsJob& job, const std::function<void(io::H5File&)>& initialize,
                      const std::function<void(io::H5File&)>& finalize) {
  write_durably(final_path, [&](const std::string& partial) {
    io::H5File file = io::H5File::create(partial, /*overwrite=*/true);
    file.set_string_attribute("/", "run_identity", identity);
    initialize(file);
    for (int64_t b = 0; b < plan.num_blocks(); ++b) {
      const dist::Block block = plan.block(b);
      const std::string path = record_path(final_path, b);
      job.store(file, block, read_payload(path, job.payload_dtype, block.size() * job.item_length));
    }
    if (finalize) finalize(file);
    file.set_string_attribute("/", "status", "done");
    file.close();
  });
  remove_tree(work_folder(final_path));
}

}  // namespace switchdiff::pipeline
