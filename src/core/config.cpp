#include "core/config.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.h"

namespace switchdiff::core {
namespace {
std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}
}  // namespace

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
  const std::string& v = values_.at(name);
  try {
    size_t used = 0;
    const double d = std::stod(v, &used);
    if (trim(v.substr(used)).empty() && !std::isnan(d)) return d;
  } catch (const std::exception&) {
  }
  bad_value(name, "a number");
}

double Config::number(const std::string& name) const {
  text(name);
  return *optional_number(name);
}

std::optional<int64_t> Config::optional_integer(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  const std::string& v = values_.at(name);
  try {
    size_t used = 0;
    const long long i = std::stoll(v, &used);
    if (trim(v.substr(used)).empty()) return i;
  } catch (const std::exception&) {
  }
  bad_value(name, "an integer");
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

std::string Config::to_ini() const {
  std::string out;
  std::string section;
  for (const auto& k : keys_) {
    auto it = values_.find(k.name);
    if (it == values_.end() || it->second.empty()) continue;
    const auto dot = k.name.find('.');
    const std::string s = k.name.substr(0, dot);
    if (s != section) {
      out += (out.empty() ? "" : "\n") + ("[" + s + "]\n");
      section = s;
    }
    out += k.name.substr(dot + 1) + " = " + it->second + "\n";
  }
  return out;
}

}  // namespace switchdiff::core
