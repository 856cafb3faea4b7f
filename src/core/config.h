#pragma once
// The resolved configuration (docs/cli.md): dotted keys "section.key" -> text, in registration order,
// with typed accessors whose errors name the key, the value and what is allowed. The CLI fills it
// (INI file, then command line); pipeline code reads typed values and stores to_ini() in outputs.
// Math modules never see a Config: they take their own options structs.
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace switchdiff::core {

// What a key accepts. Config::validate() checks every set value against its rule before any work starts, so a
// bad value is refused in seconds with the key, the value, where it came from and what is allowed.
struct ValueRule {
  enum class Kind {
    kText,        // anything
    kInteger,     // a whole number in [min, max]
    kNumber,      // a number in [min, max]; NaN never, +-inf only with allow_infinity
    kBoolean,     // true/false/1/0/yes/no/on/off
    kChoice,      // one of `choices`
    kNumberList,  // comma-separated numbers, each as kNumber
    kInputFile,   // a file to read: never a folder (a missing file is reported by its reader)
  };
  Kind kind = Kind::kText;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool allow_infinity = false;
  std::vector<std::string> choices;
  // "an integer >= 1", "one of heun | euler", ... for messages and --help.
  std::string describe() const;
};
ValueRule any_text();
ValueRule integer_in(double min, double max = std::numeric_limits<double>::infinity());
ValueRule number_in(double min, double max = std::numeric_limits<double>::infinity(), bool allow_infinity = false);
ValueRule boolean_value();
ValueRule one_of(std::vector<std::string> choices);
ValueRule number_list_in(double min, double max = std::numeric_limits<double>::infinity());
ValueRule input_file();

struct ConfigKey {
  std::string name;           // "sampler.steps"
  std::string default_value;  // text; empty = unset unless given
  std::string help;
  ValueRule rule = any_text();
};

class Config {
 public:
  // Registers a key (order = print order) with its default.
  void declare(const ConfigKey& key);
  // Sets a declared key; `source` ("command line", "configs/demo.ini") is kept for messages.
  void set(const std::string& name, const std::string& value, const std::string& source);

  bool has(const std::string& name) const;            // declared and non-empty; an undeclared name is a ConfigError
  bool declares(const std::string& name) const;       // whether this command reads the key at all
  std::string source(const std::string& name) const;  // "default", "command line" or the INI file's path
  std::string text(const std::string& name) const;    // ConfigError when unset
  std::optional<std::string> optional_text(const std::string& name) const;
  double number(const std::string& name) const;
  std::optional<double> optional_number(const std::string& name) const;
  int64_t integer(const std::string& name) const;
  std::optional<int64_t> optional_integer(const std::string& name) const;
  bool boolean(const std::string& name) const;  // true/false/1/0/yes/no/on/off
  // Comma-separated numbers ("0.002, 0.06, 80").
  std::vector<double> number_list(const std::string& name) const;
  // One of `allowed`; ConfigError lists them otherwise.
  std::string choice(const std::string& name, const std::vector<std::string>& allowed) const;

  // Checks every set value against its key's rule; ConfigError naming the key, value, source and the rule.
  void validate() const;

  // "[section]\nkey = value\n..." for every set key, sections in declaration order.
  std::string to_ini() const;
  // The same, one line per section ("[sampler] solver = heun; steps = 18; ..."), for logs.
  std::string to_compact_text() const;
  const std::vector<ConfigKey>& keys() const { return keys_; }

 private:
  [[noreturn]] void bad_value(const std::string& name, const std::string& expected) const;
  const ConfigKey& key(const std::string& name) const;

  std::vector<ConfigKey> keys_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::string> sources_;
};

}  // namespace switchdiff::core
