// core::ValueRule and Config::validate() (src/core/config.h): every declared rule refuses what it must, with a
// message naming the key, the value, its source and what is allowed; and the CLI's own key table
// (src/cli/config_keys.cpp) gives every enumerated, count and size key a rule.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/test_support.h"
#include "core/config.h"
#include "core/error.h"

namespace switchdiff::core {
namespace {

std::string validation_error(Config& c, const std::string& key, const std::string& value) {
  c.set(key, value, "command line");
  try {
    c.validate();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

Config ruled_config() {
  Config c;
  c.declare({"samples.count", "64", "samples", integer_in(0, 1e12)});
  c.declare({"nll.batch", "16", "batch", integer_in(1, 1e6)});
  c.declare({"nll.rtol", "1e-5", "rtol", number_in(1e-300)});
  c.declare({"sampler.s_max", "inf", "S_max", number_in(0, std::numeric_limits<double>::infinity(), true)});
  c.declare({"run.backend", "auto", "backend", one_of({"auto", "serial", "mpi", "nccl"})});
  c.declare({"nll.elbo", "true", "elbo", boolean_value()});
  c.declare({"sweep.sigmas", "", "sigmas", number_list_in(0)});
  c.declare({"nll.dataset", "", "dataset", input_file()});
  c.declare({"output.path", "", "free text"});
  return c;
}

TEST(ConfigRules, DefaultsAndGoodValuesPass) {
  Config c = ruled_config();
  EXPECT_NO_THROW(c.validate());
  c.set("samples.count", "0", "command line");
  c.set("sweep.sigmas", "0, 0.5, 80", "command line");
  c.set("run.backend", "mpi", "command line");
  EXPECT_NO_THROW(c.validate());
}

TEST(ConfigRules, NegativeZeroAndOverflowingIntegers) {
  Config c = ruled_config();
  const std::string negative = validation_error(c, "samples.count", "-5");
  EXPECT_NE(negative.find("samples.count = '-5' (from command line)"), std::string::npos) << negative;
  EXPECT_NE(negative.find("an integer in [0, 1000000000000]"), std::string::npos) << negative;
  EXPECT_NE(validation_error(c = ruled_config(), "nll.batch", "0").find("integer in [1, 1000000]"), std::string::npos);
  EXPECT_NE(validation_error(c = ruled_config(), "samples.count", "1000000000000000").find("samples.count"),
            std::string::npos);
  EXPECT_NE(validation_error(c = ruled_config(), "samples.count", "99999999999999999999").find("integer"),
            std::string::npos);
  EXPECT_NE(validation_error(c = ruled_config(), "nll.batch", "7.5").find("integer"), std::string::npos);
  EXPECT_NE(validation_error(c = ruled_config(), "nll.batch", "many").find("integer"), std::string::npos);
}

TEST(ConfigRules, NumbersRefuseNanInfinityAndOutOfRange) {
  Config c = ruled_config();
  for (const char* bad : {"nan", "inf", "-1", "0", "1e-5x"}) {
    c = ruled_config();
    EXPECT_NE(validation_error(c, "nll.rtol", bad).find("nll.rtol"), std::string::npos) << bad;
  }
  c = ruled_config();
  EXPECT_EQ(validation_error(c, "sampler.s_max", "inf"), "");  // allowed where the rule says so
  c = ruled_config();
  EXPECT_NE(validation_error(c, "sampler.s_max", "nan").find("sampler.s_max"), std::string::npos);
}

TEST(ConfigRules, EnumeratedKeysListTheAllowedValues) {
  Config c = ruled_config();
  const std::string message = validation_error(c, "run.backend", "bogus");
  EXPECT_NE(message.find("run.backend = 'bogus'"), std::string::npos) << message;
  EXPECT_NE(message.find("auto | serial | mpi | nccl"), std::string::npos) << message;
  c = ruled_config();
  EXPECT_NE(validation_error(c, "nll.elbo", "maybe").find("true/false"), std::string::npos);
}

TEST(ConfigRules, ListsCheckEveryItem) {
  Config c = ruled_config();
  EXPECT_NE(validation_error(c, "sweep.sigmas", "0, -1").find(">= 0"), std::string::npos);
  c = ruled_config();
  EXPECT_NE(validation_error(c, "sweep.sigmas", "0, nan").find("sweep.sigmas"), std::string::npos);
  c = ruled_config();
  EXPECT_NE(validation_error(c, "sweep.sigmas", "0, inf").find("sweep.sigmas"), std::string::npos);
}

TEST(ConfigRules, AnInputFileIsNeverAFolder) {
  Config c = ruled_config();
  const std::string folder = testing::scratch_dir();
  EXPECT_NE(validation_error(c, "nll.dataset", folder).find("is a directory"), std::string::npos);
  c = ruled_config();
  // A missing file is left to its reader (the demo makes its data on first use).
  EXPECT_EQ(validation_error(c, "nll.dataset", folder + "/not_yet.h5"), "");
}

TEST(ConfigRules, DescribeSaysWhatIsAllowed) {
  EXPECT_EQ(integer_in(1).describe(), "an integer >= 1");
  EXPECT_EQ(integer_in(0, 10).describe(), "an integer in [0, 10]");
  EXPECT_EQ(number_in(0).describe(), "a finite number >= 0");
  EXPECT_EQ(one_of({"heun", "euler"}).describe(), "one of heun | euler");
}

TEST(ConfigText, CompactTextHasOneLinePerSectionAndEveryValue) {
  Config c = ruled_config();
  c.set("sweep.sigmas", "0, 80", "command line");
  EXPECT_EQ(c.to_compact_text(),
            "[samples] count = 64\n[nll] batch = 16; rtol = 1e-5\n[sampler] s_max = inf\n[run] backend = auto\n"
            "[nll] elbo = true\n[sweep] sigmas = 0, 80\n");
}

}  // namespace
}  // namespace switchdiff::core
