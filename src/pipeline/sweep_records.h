#pragma once
// The block records of a sweep pass (docs/sweep.md#blocks-records-and-the-pass): one HDF5 file per global block in
// `<output>.work/blocks/`, written whole and committed by pipeline/durable_file.h, so a record that exists is
// complete. `s<b>.h5` holds sample block b (seeds seed_base + [begin, end)): per pass point p, /p<p>/features
// [B, F] float64, /p<p>/logits [B, K] (extractor with logits) and /p<p>/images uint8 (the preview rows, or all
// rows when samples are kept). `n<b>.h5` holds test-image block b: /p<p>/values [B, kNumNllColumns] float64 (the
// columns of pipeline/nll_job.h). Root attributes: begin, end and the evaluations the block performed per expert.
// Rank-agnostic: any rank writes the records of the blocks it computes; rank 0 lists and reduces them. Records are
// block records (pipeline/block_record.h): begin, end, data_sha256 and the completion mark are checked on resume.
#include <cstdint>
#include <string>
#include <vector>

#include "dist/shard_plan.h"

namespace switchdiff::pipeline {

// The points a pass computes and its blocks: sample blocks 0..S-1 first, then test-image blocks S..S+T-1.
struct SweepPass {
  std::vector<int64_t> rows;          // results-file rows of the pass's points
  std::vector<double> switch_sigmas;  // their switch sigmas
  dist::ShardPlan samples{0, 1, 1};   // seeds [0, samples.count) in blocks of samples.batch
  dist::ShardPlan images{0, 1, 1};    // test images [0, nll count) in blocks of nll.batch
  int64_t num_blocks() const { return samples.num_blocks() + images.num_blocks(); }
  bool is_sample_block(int64_t b) const { return b < samples.num_blocks(); }
  // Block b's items: seeds (offsets from seed_base) for a sample block, test-image indices otherwise.
  dist::Block block(int64_t b) const {
    return is_sample_block(b) ? samples.block(b) : images.block(b - samples.num_blocks());
  }
};

std::string records_folder(const std::string& output_path);
std::string record_path(const std::string& output_path, const SweepPass& pass, int64_t block);

// Rank 0: one flag per block, 1 where its record exists and is a valid record of that block
// (block_record_problem). A damaged record (unreadable, incomplete, of another block, or failing its checksum) is
// moved aside to `<record>.damaged` with a warning, and counts as missing so it is computed again.
std::vector<uint8_t> finished_records(const std::string& output_path, const SweepPass& pass);

}  // namespace switchdiff::pipeline
