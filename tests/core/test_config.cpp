// core::Config (src/core/config.h): typed accessors, unset and undeclared keys, bad values, and messages that
// name the key, the value, where it came from and what is allowed (docs/style.md: errors say how to fix).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/error.h"

namespace switchdiff::core {
namespace {

Config sample_config() {
  Config c;
  c.declare({"sampler.steps", "18", "Heun steps"});
  c.declare({"sampler.rho", "7", "schedule exponent"});
  c.declare({"sampler.kind", "heun", "sampler"});
  c.declare({"run.resume", "false", "resume a run"});
  c.declare({"run.sigmas", "", "switch sigmas"});
  c.declare({"output.path", "", "results file"});
  return c;
}

// The ConfigError message of `call`, or a test failure when it does not throw one.
std::string config_error(const std::function<void()>& call) {
  try {
    call();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return "";
}

void expect_contains(const std::string& message, const std::vector<std::string>& parts) {
  for (const auto& part : parts) EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' in: " << message;
}

TEST(Config, DefaultsAreTypedValues) {
  const Config c = sample_config();
  EXPECT_EQ(c.integer("sampler.steps"), 18);
  EXPECT_DOUBLE_EQ(c.number("sampler.rho"), 7.0);
  EXPECT_EQ(c.text("sampler.kind"), "heun");
  EXPECT_FALSE(c.boolean("run.resume"));
  EXPECT_EQ(c.source("sampler.steps"), "default");
}

TEST(Config, SetOverridesTheDefaultTrimsAndKeepsTheSource) {
  Config c = sample_config();
  c.set("sampler.steps", "  40 ", "configs/x.ini");
  c.set("run.resume", "Yes", "command line");
  EXPECT_EQ(c.integer("sampler.steps"), 40);
  EXPECT_EQ(c.text("sampler.steps"), "40");
  EXPECT_EQ(c.source("sampler.steps"), "configs/x.ini");
  EXPECT_TRUE(c.boolean("run.resume"));
  EXPECT_EQ(c.source("run.resume"), "command line");
}

TEST(Config, BooleanSpellings) {
  Config c = sample_config();
  for (const std::string v : {"true", "1", "yes", "on", "TRUE", "On"}) {
    c.set("run.resume", v, "command line");
    EXPECT_TRUE(c.boolean("run.resume")) << v;
  }
  for (const std::string v : {"false", "0", "no", "off", "False"}) {
    c.set("run.resume", v, "command line");
    EXPECT_FALSE(c.boolean("run.resume")) << v;
  }
}

TEST(Config, NumberListSkipsSpacesAndEmptyItems) {
  Config c = sample_config();
  c.set("run.sigmas", "0.002, 0.06 ,80,", "command line");
  EXPECT_EQ(c.number_list("run.sigmas"), (std::vector<double>{0.002, 0.06, 80.0}));
}

TEST(Config, ChoiceReturnsAnAllowedValue) {
  const Config c = sample_config();
  EXPECT_EQ(c.choice("sampler.kind", {"heun", "euler"}), "heun");
}

TEST(Config, UnsetKeysAreAbsentOrAnErrorThatSaysHowToSetThem) {
  const Config c = sample_config();
  EXPECT_FALSE(c.has("output.path"));
  EXPECT_TRUE(c.has("sampler.steps"));
  EXPECT_FALSE(c.optional_text("output.path").has_value());
  EXPECT_FALSE(c.optional_number("output.path").has_value());
  EXPECT_FALSE(c.optional_integer("output.path").has_value());
  expect_contains(config_error([&] { c.text("output.path"); }),
                  {"'output.path' is not set", "--output.path", "[output]"});
  expect_contains(config_error([&] { c.integer("output.path"); }), {"output.path"});
  expect_contains(config_error([&] { c.number("output.path"); }), {"output.path"});
  expect_contains(config_error([&] { c.boolean("output.path"); }), {"output.path"});
}

TEST(Config, SettingToEmptyUnsetsTheKey) {
  Config c = sample_config();
  c.set("sampler.kind", "", "command line");
  EXPECT_FALSE(c.has("sampler.kind"));
}

TEST(Config, UndeclaredKeysAreErrorsNamingTheKey) {
  Config c = sample_config();
  EXPECT_FALSE(c.declares("sampler.stpes"));
  EXPECT_TRUE(c.declares("sampler.steps"));
  expect_contains(config_error([&] { c.set("sampler.stpes", "3", "command line"); }), {"'sampler.stpes'"});
  expect_contains(config_error([&] { c.has("nope.key"); }), {"'nope.key'"});
  expect_contains(config_error([&] { c.text("nope.key"); }), {"'nope.key'"});
  expect_contains(config_error([&] { c.source("nope.key"); }), {"'nope.key'"});
}

TEST(Config, BadValuesNameTheKeyTheValueTheSourceAndWhatIsAllowed) {
  Config c = sample_config();
  c.set("sampler.steps", "18.5", "configs/x.ini");
  expect_contains(config_error([&] { c.integer("sampler.steps"); }),
                  {"sampler.steps", "'18.5'", "configs/x.ini", "an integer"});
  c.set("sampler.steps", "12abc", "command line");
  expect_contains(config_error([&] { c.optional_integer("sampler.steps"); }), {"sampler.steps", "'12abc'"});
  c.set("sampler.steps", "99999999999999999999", "command line");  // overflows int64
  expect_contains(config_error([&] { c.integer("sampler.steps"); }), {"sampler.steps", "an integer"});

  c.set("sampler.rho", "seven", "command line");
  expect_contains(config_error([&] { c.number("sampler.rho"); }),
                  {"sampler.rho", "'seven'", "command line", "a number"});
  c.set("sampler.rho", "nan", "command line");
  expect_contains(config_error([&] { c.number("sampler.rho"); }), {"sampler.rho", "'nan'"});

  c.set("run.resume", "maybe", "command line");
  expect_contains(config_error([&] { c.boolean("run.resume"); }), {"run.resume", "'maybe'", "true/false"});

  c.set("run.sigmas", "0.1, x, 3", "command line");
  expect_contains(config_error([&] { c.number_list("run.sigmas"); }), {"run.sigmas", "'0.1, x, 3'", "list of numbers"});
  c.set("run.sigmas", "0.1, 2y", "command line");
  expect_contains(config_error([&] { c.number_list("run.sigmas"); }), {"run.sigmas", "list of numbers"});

  c.set("sampler.kind", "rk4", "command line");
  expect_contains(config_error([&] {
                    c.choice("sampler.kind", {"heun", "euler"});
                  }),
                  {"sampler.kind", "'rk4'", "one of heun | euler"});
}

TEST(Config, DeclaringTwiceKeepsTheFirstDeclaration) {
  Config c = sample_config();
  c.declare({"sampler.steps", "99", "again"});
  EXPECT_EQ(c.integer("sampler.steps"), 18);
  EXPECT_EQ(c.keys().size(), 6u);
}

TEST(Config, ToIniGroupsSetKeysBySectionInDeclarationOrder) {
  Config c = sample_config();
  c.set("output.path", "out.h5", "command line");
  EXPECT_EQ(c.to_ini(),
            "[sampler]\nsteps = 18\nrho = 7\nkind = heun\n\n[run]\nresume = false\n\n[output]\npath = out.h5\n");
}

}  // namespace
}  // namespace switchdiff::core
