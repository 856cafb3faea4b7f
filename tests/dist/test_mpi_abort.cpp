// A lone failing rank must not deadlock the job (docs/style.md): MpiSession::abort ends every rank and
// mpirun exits with the docs/cli.md code.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/test_support.h"

namespace switchdiff::dist {
namespace {

TEST(MpiSessionAbort, EndsEveryRankWithTheExitCode) {
  for (int code : {1, 2}) {
    const auto result =
        switchdiff::testing::run_command(fmt::format("timeout 60 {} -n 2 --allow-run-as-root --oversubscribe {} {}",
                                                     SWITCHDIFF_MPIEXEC, SWITCHDIFF_ABORT_PROBE, code));
    EXPECT_EQ(result.exit_code, code) << result.output;
    EXPECT_NE(result.output.find("probe failure"), std::string::npos) << result.output;
    EXPECT_EQ(result.output.find("unreachable"), std::string::npos) << result.output;
  }
}

}  // namespace
}  // namespace switchdiff::dist
