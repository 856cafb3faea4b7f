#include "metrics/python_reference.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/test_support.h"

namespace switchdiff::testing {

void write_npy(const std::string& path, const at::Tensor& tensor) {
  const at::Tensor data = tensor.to(at::TensorOptions().dtype(at::kDouble).device(at::kCPU)).contiguous();
  // Python tuple syntax: "3, 4" for 2-d, "3," for 1-d.
  std::string shape = fmt::format("{}", fmt::join(data.sizes().vec(), ", "));
  if (data.dim() == 1) shape += ",";
  std::string header = fmt::format("{{'descr': '<f8', 'fortran_order': False, 'shape': ({}), }}", shape);
  // NPY 1.0: magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64
  // bytes and ended by '\n'.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t length = static_cast<uint16_t>(header.size());
  const char length_bytes[2] = {static_cast<char>(length & 0xff), static_cast<char>(length >> 8)};
  out.write(length_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(data.data_ptr()), static_cast<std::streamsize>(data.numel() * sizeof(double)));
  if (!out) ADD_FAILURE() << "could not write " << path;
}

namespace {
std::vector<std::string> run_lines(const std::string& scratch, const std::string& command,
                                   const std::vector<std::string>& inputs, const std::string& extra_flags) {
  const std::string out = fmt::format("{}/{}.out", scratch, command);
  std::string line = fmt::format("{} {}/tests/metrics/metrics_reference.py {}", python(), source_dir(), command);
  for (const auto& input : inputs) line += " " + input;
  line += fmt::format(" {} --out {}", extra_flags, out);
  const CommandResult result = run_command(line);
  if (result.exit_code != 0) {
    ADD_FAILURE() << "reference failed (" << result.exit_code << "): " << line << "\n" << result.output;
    return {};
  }
  std::ifstream in(out);
  std::vector<std::string> lines;
  for (std::string text; std::getline(in, text);) lines.push_back(text);
  return lines;
}
}  // namespace

std::vector<std::string> run_reference_lines(const std::string& scratch, const std::string& command,
                                             const std::vector<std::string>& inputs) {
  return run_lines(scratch, command, inputs, "");
}

std::vector<double> run_reference(const std::string& scratch, const std::string& command,
                                  const std::vector<std::string>& inputs, const std::string& extra_flags) {
  std::vector<double> values;
  for (const auto& text : run_lines(scratch, command, inputs, extra_flags)) values.push_back(std::stod(text));
  return values;
}

}  // namespace switchdiff::testing
