#include "core/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "core/error.h"

namespace switchdiff::core {
namespace {
std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string bound(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{}", v);
}

std::string range_text(const ValueRule& r) {
  const bool has_min = !std::isinf(r.min), has_max = !std::isinf(r.max);
  if (has_min && has_max) return fmt::format(" in [{}, {}]", bound(r.min), bound(r.max));
  if (has_min) return fmt::format(" >= {}", bound(r.min));
  if (has_max) return fmt::format(" <= {}", bound(r.max));
  return "";
}

// Parses a whole number or a number; nullopt when the text is not one (trailing characters, overflow).
std::optional<long long> parse_integer(const std::string& v) {
  try {
    size_t used = 0;
    const long long i = std::stoll(v, &used);
    if (trim(v.substr(used)).empty()) return i;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::optional<double> parse_number(const std::string& v) {
  try {
    size_t used = 0;
    const double d = std::stod(v, &used);
    if (trim(v.substr(used)).empty()) return d;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

bool number_allowed(double d, const ValueRule& r) {
  if (std::isnan(d)) return false;
  if (std::isinf(d) && !r.allow_infinity) return false;
  return d >= r.min && d <= r.max;
}

}  // namespace

std::string ValueRule::describe() const {
  switch (kind) {
    case Kind::kText:
      return "text";
    case Kind::kInteger:
      return "an integer" + range_text(*this);
    case Kind::kNumber:
      return std::string(allow_infinity ? "a number" : "a finite number") + range_text(*this);
    case Kind::kBoolean:
      return "a boolean (true/false)";
    case Kind::kChoice: {
      std::string list;
      for (const auto& c : choices) list += (list.empty() ? "" : " | ") + c;
      return "one of " + list;
    }
    case Kind::kNumberList:
      return "a comma-separated list of finite numbers" + range_text(*this);
    case Kind::kInputFile:
      return "a file";
  }
  return "text";
}

ValueRule any_text() { return {}; }
ValueRule integer_in(double min, double max) {
  ValueRule r;
  r.kind = ValueRule::Kind::kInteger;
  r.min = min;
  r.max = max;
  return r;
}
ValueRule number_in(double min, double max, bool allow_infinity) {
  ValueRule r;
  r.kind = ValueRule::Kind::kNumber;
  r.min = min;
  r.max = max;
  r.allow_infinity = allow_infinity;
  return r;
}
ValueRule boolean_value() {
  ValueRule r;
  r.kind = ValueRule::Kind::kBoolean;
  return r;
}
ValueRule one_of(std::vector<std::string> choices) {
  ValueRule r;
  r.kind = ValueRule::Kind::kChoice;
  r.choices = std::move(choices);
  return r;
}
ValueRule number_list_in(double min, double max) {
  ValueRule r = number_in(min, max);
  r.kind = ValueRule::Kind::kNumberList;
  return r;
}
ValueRule input_file() {
  ValueRule r;
  r.kind = ValueRule::Kind::kInputFile;
  return r;
}

void Config::declare(const ConfigKey& key) {
  if (std::any_of(keys_.begin(), keys_.end(), [&](const ConfigKey& k) { return k.name == key.name; })) return;
  keys_.push_back(key);
  if (!key.default_value.empty()) {
    values_[key.name] = key.default_value;
    sources_[key.name] = "default";
  }
}

const ConfigKey& Config::key(const std::string& name) const {
  for (const auto& k : keys_) {
    if (k.name == name) return k;
  }
  throw make_error<ConfigError>("unknown configuration key '{}'", name);
}

void Config::set(const std::string& name, const std::string& value, const std::string& source) {
  key(name);  // must be declared
  values_[name] = trim(value);
  sources_[name] = source;
}

bool Config::declares(const std::string& name) const {
  return std::any_of(keys_.begin(), keys_.end(), [&](const ConfigKey& k) { return k.name == name; });
}

std::string Config::source(const std::string& name) const {
  key(name);
  auto it = sources_.find(name);
  return it == sources_.end() ? "default" : it->second;
}

bool Config::has(const std::string& name) const {
  key(name);
  auto it = values_.find(name);
  return it != values_.end() && !it->second.empty();
}

std::optional<std::string> Config::optional_text(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  return values_.at(name);
}

std::string Config::text(const std::string& name) const {
  if (!has(name)) {
    throw make_error<ConfigError>("'{}' is not set; give --{} VALUE or set it in the [{}] section of the config file",
                                  name, name, name.substr(0, name.find('.')));
  }
  return values_.at(name);
}

void Config::bad_value(const std::string& name, const std::string& expected) const {
  const auto source = sources_.count(name) ? sources_.at(name) : std::string("default");
  throw make_error<ConfigError>("{} = '{}' (from {}) is not {}", name, values_.at(name), source, expected);
}

std::optional<double> Config::optional_number(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  const auto d = parse_number(values_.at(name));
  if (d && !std::isnan(*d)) return *d;
  bad_value(name, "a number");
}

double Config::number(const std::string& name) const {
  text(name);
  return *optional_number(name);
}

std::optional<int64_t> Config::optional_integer(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  if (const auto i = parse_integer(values_.at(name))) return *i;
  bad_value(name, "an integer (whole number within +-9.2e18)");
}

int64_t Config::integer(const std::string& name) const {
  text(name);
  return *optional_integer(name);
}

bool Config::boolean(const std::string& name) const {
  std::string v = text(name);
  std::transform(v.begin(), v.end(), v.begin(), ::tolower);
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  bad_value(name, "a boolean (true/false)");
}

std::vector<double> Config::number_list(const std::string& name) const {
  std::vector<double> out;
  std::stringstream in(text(name));
  std::string item;
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (item.empty()) continue;
    try {
      size_t used = 0;
      out.push_back(std::stod(item, &used));
      if (!trim(item.substr(used)).empty()) bad_value(name, "a comma-separated list of numbers");
    } catch (const std::invalid_argument&) {
      bad_value(name, "a comma-separated list of numbers");
    } catch (const std::out_of_range&) {
      bad_value(name, "a comma-separated list of numbers");
    }
  }
  return out;
}

std::string Config::choice(const std::string& name, const std::vector<std::string>& allowed) const {
  const std::string v = text(name);
  if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return v;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : " | ") + a;
  bad_value(name, "one of " + list);
}

void Config::validate() const {
  using Kind = ValueRule::Kind;
  for (const auto& k : keys_) {
    if (!has(k.name)) continue;
    const ValueRule& r = k.rule;
    const std::string& v = values_.at(k.name);
    switch (r.kind) {
      case Kind::kText:
        break;
      case Kind::kInteger: {
        const auto i = parse_integer(v);
        if (!i || static_cast<long double>(*i) < r.min || static_cast<long double>(*i) > r.max) {
          bad_value(k.name, r.describe());
        }
        break;
      }
      case Kind::kNumber: {
        const auto d = parse_number(v);
        if (!d || !number_allowed(*d, r)) bad_value(k.name, r.describe());
        break;
      }
      case Kind::kBoolean:
        boolean(k.name);
        break;
      case Kind::kChoice:
        choice(k.name, r.choices);
        break;
      case Kind::kNumberList:
        for (const double d : number_list(k.name)) {
          if (!number_allowed(d, r)) bad_value(k.name, r.describe());
        }
        break;
      case Kind::kInputFile: {
        // A folder is always a mistake. A missing file is left to the reader, which names what it expected,
        // and to jobs that make their inputs first (the bundled demo converts its data on first use).
        std::error_code ec;
        if (std::filesystem::is_directory(v, ec)) bad_value(k.name, "a file (it is a directory)");
        break;
      }
    }
  }
}

namespace {

// The set keys grouped by section, in declaration order: the text of both renderings below.
std::string render(const std::vector<ConfigKey>& keys, const std::map<std::string, std::string>& values,
                   const char* section_close, const char* separator, const char* section_gap) {
  std::string out;
  std::string section;
  for (const auto& k : keys) {
    auto it = values.find(k.name);
    if (it == values.end() || it->second.empty()) continue;
    const auto dot = k.name.find('.');
    const std::string s = k.name.substr(0, dot);
    if (s != section) {
      out += (section.empty() ? "" : section_gap) + ("[" + s + section_close);
      section = s;
    } else {
      out += separator;
    }
    out += k.name.substr(dot + 1) + " = " + it->second;
  }
  return out.empty() ? out : out + "\n";
}

}  // namespace

std::string Config::to_compact_text() const { return render(keys_, values_, "] ", "; ", "\n"); }

std::string Config::to_ini() const { return render(keys_, values_, "]\n", "\n", "\n\n"); }

}  // namespace switchdiff::core
