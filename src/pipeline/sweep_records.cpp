#include "pipeline/sweep_records.h"

#include <fmt/format.h>

#include <filesystem>

#include "pipeline/block_record.h"
#include "pipeline/durable_file.h"

namespace switchdiff::pipeline {

std::string records_folder(const std::string& output_path) { return output_path + ".work/blocks"; }

std::string record_path(const std::string& output_path, const SweepPass& pass, int64_t block) {
  return pass.is_sample_block(block)
             ? fmt::format("{}/s{}.h5", records_folder(output_path), block)
             : fmt::format("{}/n{}.h5", records_folder(output_path), block - pass.samples.num_blocks());
}

std::vector<uint8_t> finished_records(const std::string& output_path, const SweepPass& pass) {
  std::vector<uint8_t> done(static_cast<size_t>(pass.num_blocks()), 0);
  for (int64_t b = 0; b < pass.num_blocks(); ++b) {
    const std::string path = record_path(output_path, pass, b);
    if (!std::filesystem::exists(path)) continue;
    const std::string problem = block_record_problem(path, pass.block(b));
    if (problem.empty()) {
      done[static_cast<size_t>(b)] = 1;
      continue;
    }
    move_aside_damaged(path, problem);
  }
  return done;
}

}  // namespace switchdiff::pipeline
