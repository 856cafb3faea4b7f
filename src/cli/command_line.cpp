#include "cli/command_line.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/config_keys.h"
#include "core/error.h"

namespace po = boost::program_options;

namespace switchdiff::cli {
namespace {

std::string help_text(const CommandSpec& spec, const core::Config& config) {
  std::string out = fmt::format("usage: switchdiff {} [--config FILE.ini] [--section.key VALUE ...]", spec.name);
  for (const auto& f : spec.flags) out += fmt::format(f.required ? " --{} VALUE" : " [--{} VALUE]", f.name);
  if (spec.positional) out += " " + spec.positional->name;
  out += "\n\n" + spec.summary + "\n";
  if (spec.positional || !spec.flags.empty()) out += "\narguments:\n";
  if (spec.positional) out += fmt::format("  {:<34} {}\n", spec.positional->name, spec.positional->help);
  for (const auto& f : spec.flags) out += fmt::format("  --{:<32} {}\n", f.name, f.help);
  out += "  --config FILE                      INI file; [section] key = value (the command line overrides it)\n";
  if (!spec.default_config.empty()) {
    out += fmt::format("  {:<34} without --config and --experts.quality: {}\n", "", spec.default_config);
  }
  std::string section;
  for (const auto& k : config.keys()) {
    const std::string s = k.name.substr(0, k.name.find('.'));
    if (s != section) {
      out += fmt::format("\n[{}]\n", s);
      section = s;
    }
    const bool show_rule = k.rule.kind != core::ValueRule::Kind::kText && k.rule.kind != core::ValueRule::Kind::kChoice;
    out += fmt::format("  --{:<32} {}{}{}\n", k.name, k.help, show_rule ? "; " + k.rule.describe() : "",
                       k.default_value.empty() ? "" : fmt::format(" (default: {})", k.default_value));
  }
  return out;
}

// INI comments as users write them (docs/cli.md uses both): a line starting with ';' or '#', and an inline
// comment, a ';' or '#' that follows whitespace ("steps = 18 ; Karras et al."). Boost's parser knows only
// '#' and would take "18 ; Karras" as the value. A ';' inside a value ("a;b") is kept.
std::string strip_ini_comments(std::istream& in) {
  std::string out, line;
  while (std::getline(in, line)) {
    for (size_t i = 0; i < line.size(); ++i) {
      const bool marker = line[i] == ';' || line[i] == '#';
      if (marker && (i == 0 || std::isspace(static_cast<unsigned char>(line[i - 1])))) {
        line.erase(i);
        break;
      }
    }
    out += line + "\n";
  }
  return out;
}

// The bundled config (configs/demo.ini) names files relative to the repository root (the folder above
// configs/); make them absolute so that the default runs from any working folder.
void anchor_bundled_paths(core::Config& config, const std::string& config_file) {
  const std::filesystem::path root = std::filesystem::path(config_file).parent_path().parent_path();
  for (const char* key : {"experts.quality", "experts.likelihood", "nll.dataset", "fid.extractor", "fid.reference"}) {
    if (!config.declares(key) || !config.has(key)) continue;
    const std::filesystem::path path = config.text(key);
    if (path.is_relative()) config.set(key, (root / path).string(), config_file);
  }
}

}  // namespace

ParsedCommandLine parse_command_line(const CommandSpec& spec, int argc, char** argv) {
  ParsedCommandLine parsed;
  declare_sections(parsed.config, spec.sections);
  for (int i = 0; i < argc; ++i) parsed.command_line += (i ? " " : "") + std::string(argv[i]);

  po::options_description keys("keys");
  for (const auto& k : parsed.config.keys()) keys.add_options()(k.name.c_str(), po::value<std::string>());
  po::options_description flags("flags");
  flags.add_options()("help,h", po::bool_switch())("config", po::value<std::string>());
  for (const auto& f : spec.flags) {
    if (f.is_switch) {
      flags.add_options()(f.name.c_str(), po::bool_switch());
    } else {
      flags.add_options()(f.name.c_str(), po::value<std::string>());
    }
  }
  po::positional_options_description positional;
  if (spec.positional) {
    flags.add_options()(spec.positional->name.c_str(), po::value<std::string>());
    positional.add(spec.positional->name.c_str(), 1);
  }
  po::options_description all;
  all.add(keys).add(flags);

  po::variables_map from_command_line;
  try {
    po::store(po::command_line_parser(argc - 1, argv + 1).options(all).positional(positional).run(), from_command_line);
  } catch (const po::error& e) {
    throw make_error<ConfigError>("switchdiff {}: {}; see `switchdiff {} --help` for every key and flag", spec.name,
                                  e.what(), spec.name);
  }
  parsed.help = from_command_line["help"].as<bool>();
  parsed.help_text = help_text(spec, parsed.config);
  if (parsed.help) return parsed;

  if (from_command_line.count("config")) parsed.config_file = from_command_line["config"].as<std::string>();
  if (parsed.config_file.empty() && !spec.default_config.empty() && !from_command_line.count("experts.quality")) {
    parsed.config_file = spec.default_config;
    parsed.default_config_used = true;
  }
  if (!parsed.config_file.empty()) {
    std::error_code ec;
    if (std::filesystem::is_directory(parsed.config_file, ec)) {
      throw make_error<ConfigError>("--config {}: is a directory; give the INI file itself (e.g. configs/demo.ini)",
                                    parsed.config_file);
    }
    std::ifstream file(parsed.config_file);
    if (!file) {
      throw make_error<ConfigError>("--config {}: cannot read the file; check the path", parsed.config_file);
    }
    std::istringstream ini(strip_ini_comments(file));
    po::variables_map from_file;
    try {
      // One INI file serves every command (configs/demo.ini): keys of sections this command does not
      // read are skipped; an unknown key inside a section it reads, or an unknown section, is an error.
      const auto options = po::parse_config_file(ini, keys, /*allow_unregistered=*/true);
      for (const auto& option : options.options) {
        if (!option.unregistered) continue;
        const std::string section = option.string_key.substr(0, option.string_key.find('.'));
        const bool read_here = std::find(spec.sections.begin(), spec.sections.end(), section) != spec.sections.end();
        if (read_here || !is_known_section(section)) {
          throw make_error<ConfigError>(
              "{}: unknown key '{}'; `switchdiff {} --help` lists the keys this command "
              "reads",
              parsed.config_file, option.string_key, spec.name);
        }
      }
      po::store(options, from_file);
    } catch (const po::error& e) {
      throw make_error<ConfigError>("{}: {}; `switchdiff {} --help` lists the keys this command reads",
                                    parsed.config_file, e.what(), spec.name);
    }
    for (const auto& [name, value] : from_file) {
      parsed.config.set(name, value.as<std::string>(), parsed.config_file);
    }
    if (parsed.default_config_used) anchor_bundled_paths(parsed.config, parsed.config_file);
  }
  for (const auto& [name, value] : from_command_line) {
    if (name == "help" || name == "config") continue;
    const auto flag = std::find_if(spec.flags.begin(), spec.flags.end(), [&](const Flag& f) { return f.name == name; });
    if (flag != spec.flags.end() && flag->is_switch) {
      if (value.as<bool>()) parsed.flags[name] = "true";
      continue;
    }
    const std::string text = value.as<std::string>();
    if (name.find('.') != std::string::npos) {
      parsed.config.set(name, text, "command line");
    } else {
      parsed.flags[name] = text;
    }
  }
  for (const auto& f : spec.flags) {
    if (f.required && !parsed.flags.count(f.name)) {
      throw make_error<ConfigError>("switchdiff {}: --{} is required ({})", spec.name, f.name, f.help);
    }
  }
  if (spec.positional && spec.positional->required && !parsed.flags.count(spec.positional->name)) {
    throw make_error<ConfigError>("switchdiff {}: {} is required ({})", spec.name, spec.positional->name,
                                  spec.positional->help);
  }
  parsed.config.validate();  // every value against its key's rule, before any work
  return parsed;
}

}  // namespace switchdiff::cli
