#include "pipeline/prepare_job.h"

#include <fmt/format.h>

#include <set>
#include <string_view>

#include "core/error.h"
#include "core/file_hash.h"
#include "pipeline/output_path.h"
#include "pipeline/run_metadata.h"

namespace switchdiff::pipeline {
namespace {

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : separator) + item;
  return text;
}

}  // namespace

PrepareResult run_prepare_job(const PrepareJob& job) {
  if (std::set<std::string>(job.inputs.begin(), job.inputs.end()).size() != job.inputs.size()) {
    throw make_error<ConfigError>("--input {}: a file is listed twice; each part of a dataset goes in once",
                                  join(job.inputs, ","));
  }
  ensure_writable_output(job.output_path);
  refuse_existing_output(job.output_path);

  PrepareResult result;
  result.arrays = io::import_dataset(job.inputs, job.import);
  io::DatasetArrays& arrays = result.arrays;
  std::vector<std::string> hashes;
  for (const auto& input : job.inputs) hashes.push_back(core::sha256_file(input));
  arrays.attributes["source_sha256"] = join(hashes, "\n");  // one line per entry of source_files
  if (job.import.labels_path) arrays.attributes["labels_sha256"] = core::sha256_file(*job.import.labels_path);
  result.images_sha256 =
      core::sha256_bytes(std::string_view(reinterpret_cast<const char*>(arrays.images.data()), arrays.images.size()));
  arrays.attributes["images_sha256"] = result.images_sha256;  // of /images' bytes, NCHW (identifies the data)
  arrays.attributes["switchdiff_version"] = switchdiff_version();
  arrays.attributes["git_commit"] = git_commit();
  arrays.attributes["created_utc"] = utc_now();
  arrays.attributes["command"] = job.command;
  io::write_dataset_file(job.output_path, arrays);
  return result;
}

}  // namespace switchdiff::pipeline
