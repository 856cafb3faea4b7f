#include "cli/sweep_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/log.h"

namespace switchdiff::cli {
namespace {

// docs/formats.md sweep columns in display order, with a format for one value.
struct Column {
  const char* name;
  const char* header;
  const char* format;  // for finite values; integers are stored as numbers too
};
constexpr Column kSweepColumns[] = {
    {"switch_sigma", "switch_sigma", "{:.5g}"},
    {"switch_step", "step", "{:.0f}"},
    {"fid", "fid", "{:.4f}"},
    {"fid_stderr", "±", "{:.3f}"},
    {"inception_score", "IS", "{:.3f}"},
    {"n_samples", "n_samples", "{:.0f}"},
    {"nll_bpd", "nll_bpd", "{:.4f}"},
    {"nll_bpd_stderr", "stderr", "{:.4f}"},
    {"n_test", "n_test", "{:.0f}"},
    {"nll_nfe_mean", "nll_nfe", "{:.1f}"},
    {"elbo_bpd", "elbo_bpd", "{:.4f}"},
    {"sample_nfe_mean", "sample_nfe", "{:.1f}"},
    {"status", "status", "{:.0f}"},
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

}  // namespace

void print_sweep_table(const io::H5File& file) {
  std::vector<const Column*> columns;
  std::vector<std::vector<double>> values;
  int64_t rows = -1;
  for (const Column& column : kSweepColumns) {
    const std::string path = std::string("/sweep/") + column.name;
    if (!file.is_dataset(path)) continue;
    const io::DatasetInfo info = file.dataset_info(path);
    if (info.shape.size() != 1 || info.type == io::ElementType::kOther) {
      throw make_error<InputError>("{}:{} is {} {}, expected a 1-D numeric column (docs/formats.md)", file.path(), path,
                                   info.type_name, shape_text(info.shape));
    }
    if (rows >= 0 && info.shape[0] != rows) {
      throw make_error<InputError>("{}:{} has {} entries, other /sweep columns have {}; the file is inconsistent",
                                   file.path(), path, info.shape[0], rows);
    }
    rows = info.shape[0];
    columns.push_back(&column);
    values.push_back(file.read<double>(path));
  }
  core::info("\nsweep: {} point(s)", std::max<int64_t>(rows, 0));
  if (file.has_attribute("/sweep", "fid_metric")) {
    core::info("fid: {}", file.string_attribute("/sweep", "fid_metric"));  // e.g. classifier features, not Inception
  }
  if (columns.empty()) return;
  std::vector<std::vector<std::string>> cells(static_cast<size_t>(rows));
  std::vector<size_t> widths;
  for (const Column* column : columns) widths.push_back(std::string(column->header).size());
  for (int64_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < columns.size(); ++c) {
      const double v = values[c][static_cast<size_t>(r)];
      std::string cell;
      if (std::string(columns[c]->name) == "status") {
        cell = v == 2 ? "done" : v == 1 ? "partial" : v == 0 ? "pending" : fmt::format("{}", v);
      } else if (std::string(columns[c]->name) == "switch_step" && v < 0) {
        cell = "-";
      } else {
        cell = std::isfinite(v) ? fmt::format(fmt::runtime(columns[c]->format), v) : "-";
      }
      widths[c] = std::max(widths[c], cell.size());
      cells[static_cast<size_t>(r)].push_back(cell);
    }
  }
  std::string header;
  for (size_t c = 0; c < columns.size(); ++c) header += fmt::format("{:>{}}  ", columns[c]->header, widths[c]);
  const auto trimmed = [](std::string line) { return line.erase(line.find_last_not_of(' ') + 1); };
  core::info("{}", trimmed(header));
  for (const auto& row : cells) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) line += fmt::format("{:>{}}  ", row[c], widths[c]);
    core::info("{}", trimmed(line));
  }
}

}  // namespace switchdiff::cli
