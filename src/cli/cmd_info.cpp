// `switchdiff info FILE`: any switchdiff HDF5 output as text (docs/cli.md, docs/formats.md): the run's root attributes,
// the sweep table when /sweep exists, else every dataset (shape, dtype, value of scalars) with its attributes.
#include <fmt/format.h>

#include <cmath>
#include <map>
#include <optional>

#include "cli/commands.h"
#include "cli/sweep_table.h"
#include "core/error.h"
#include "core/log.h"
#include "io/h5_file.h"

namespace switchdiff::cli {
namespace {

// An attribute's value as text (strings as they are, numbers with full precision).
std::string attribute_text(const io::H5File& file, const std::string& object, const std::string& name) {
  try {
    return file.string_attribute(object, name);
  } catch (const InputError&) {
  }
  try {
    return fmt::format("{}", file.double_attribute(object, name));
  } catch (const InputError&) {
    return "(not a scalar)";
  }
}

// Multi-line values (config, source lists) show their first line and how many follow.
std::string one_line(const std::string& text) {
  const size_t newline = text.find('\n');
  if (newline == std::string::npos) return text;
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  if (text.back() != '\n') ++lines;
  return fmt::format("{} [+{} more lines]", text.substr(0, newline), lines - 1);
}

void print_attributes(const io::H5File& file, const std::string& object, const std::string& indent) {
  for (const std::string& name : file.attribute_names(object)) {
    core::info("{}{:<24} {}", indent, name, one_line(attribute_text(file, object, name)));
  }
}

std::string shape_text(const std::vector<int64_t>& shape) {
  if (shape.empty()) return "scalar";
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

bool numeric(io::ElementType type) { return type != io::ElementType::kOther; }

void print_objects(const io::H5File& file, const std::string& group) {
  for (const std::string& name : file.children(group)) {
    const std::string path = (group == "/" ? "" : group) + "/" + name;
    if (file.is_group(path)) {
      core::info("{}/", path);
      print_attributes(file, path, "    ");
      print_objects(file, path);
      continue;
    }
    if (!file.is_dataset(path)) continue;
    const io::DatasetInfo info = file.dataset_info(path);
    std::string value;
    if (info.num_elements() == 1 && numeric(info.type)) value = fmt::format("= {}", file.read<double>(path).front());
    core::info("{:<28} {:<8} {:<16} {}", path, info.type_name, shape_text(info.shape), value);
    print_attributes(file, path, "    ");
  }
}

}  // namespace

Command info_command() {
  Command c;
  c.uses_mpi = false;
  c.spec.name = "info";
  c.spec.summary =
      "Prints a switchdiff HDF5 file as text. It shows the run's attributes (version, commit, time, command, world "
      "size), "
      "the sweep as a table (one row per switch point) when the file has /sweep, else every dataset with its shape, "
      "dtype and, for scalars such as /fid, its value.";
  c.spec.positional = Flag{"file", "HDF5 file written by switchdiff (sweep, sample, nll, stats, fid, prepare)", true};
  c.run = [](const ParsedCommandLine& args, const dist::Communicator&) {
    const std::string path = args.flags.at("file");
    const io::H5File file = io::H5File::open_input(path);
    core::info("{:<24} {}", "file", path);
    print_attributes(file, "/", "");
    if (file.is_group("/sweep")) {
      print_sweep_table(file);
      if (file.is_group("/experts")) {
        core::info("");
        for (const std::string& role : file.children("/experts")) {
          core::info("/experts/{}", role);
          print_attributes(file, "/experts/" + role, "    ");
        }
      }
      return 0;
    }
    core::info("");
    print_objects(file, "/");
    return 0;
  };
  return c;
}

}  // namespace switchdiff::cli
