#pragma once
// Bridge from the metrics tests to tests/metrics/metrics_reference.py (numpy/scipy oracles): write tensors
// as .npy, run one reference subcommand with /usr/bin/python3, read its numbers back.
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace switchdiff::testing {

// Writes a tensor as a little-endian float64 C-order .npy file (format version 1.0).
void write_npy(const std::string& path, const at::Tensor& tensor);

// Runs `metrics_reference.py <command> <inputs...> <extra_flags> --out <scratch>/<command>.out` and returns the
// numbers it wrote. Fails the current test (gtest ADD_FAILURE, returns {}) when python fails.
std::vector<double> run_reference(const std::string& scratch, const std::string& command,
                                  const std::vector<std::string>& inputs, const std::string& extra_flags = "");

// Same, for subcommands that write text lines (sha256).
std::vector<std::string> run_reference_lines(const std::string& scratch, const std::string& command,
                                             const std::vector<std::string>& inputs);

}  // namespace switchdiff::testing
