#pragma once
// A block record: the self-validating HDF5 file that holds one block's results in a work folder
// (docs/formats.md#work-folders). Both the single-point jobs (pipeline/block_rounds.h) and the sweep
// (pipeline/sweep_records.h) store their blocks this way, so one rule decides whether a record can be trusted:
// - it is written whole under a partial name and committed by rename (pipeline/durable_file.h), so a kill leaves
//   either no record or a complete one;
// - it carries `begin` and `end` (the block's items), `data_sha256` (every dataset, see record_data_hash) and,
//   written last, `complete = 1`;
// - before the commit, the data are read back against the hash: a page the disk lost without any write call
//   reporting it (seen on a full tmpfs) is an IoError instead of part of a result. A resumed run checks the hash
//   again, and a record that fails any check is moved aside (`.damaged`) and computed again.
#include <functional>
#include <string>

#include "dist/shard_plan.h"

namespace switchdiff::io {
class H5File;
}

namespace switchdiff::pipeline {

// Writes the record of `block` at `path`: `fill` writes its datasets and attributes, then this adds begin, end,
// data_sha256 and complete, verifies the data read back and commits. `private_partial` as in write_durably (two
// runs computing the same block each write their own partial file).
void write_block_record(const std::string& path, const dist::Block& block, const std::function<void(io::H5File&)>& fill,
                        bool private_partial = false);

// Why the record at `path` cannot be used for `block`: "" when it opens, is complete, holds exactly `block`, and its
// datasets match their hash; otherwise a short reason ("incomplete", "holds another block", "its data do not match
// their checksum", or the reader's error).
// `check`, when given, adds the caller's own rule on the open record (its "" means fine), so a record is opened once.
std::string block_record_problem(const std::string& path, const dist::Block& block,
                                 const std::function<std::string(const io::H5File&)>& check = {});

// SHA-256 over every dataset of the file, visited in sorted path order: for each, its path, stored type and shape,
// then its values' bytes (little-endian, as stored). Attributes are not part of it. Throws IoError for a dataset
// of a type records never hold.
std::string record_data_hash(const io::H5File& record);

}  // namespace switchdiff::pipeline
