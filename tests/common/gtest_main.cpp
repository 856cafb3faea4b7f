// gtest main for the single-process suites: as gtest's own, but a run where a test skipped (and none failed)
// exits 77 so that CTest reports the entry as Skipped (tests/common/gtest_exit_status.h).
#include <gtest/gtest.h>

#include "common/gtest_exit_status.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const bool failed = RUN_ALL_TESTS() != 0;
  const auto& unit = *::testing::UnitTest::GetInstance();
  return switchdiff::testing::exit_status(failed, unit.skipped_test_count(), unit.test_to_run_count());
}
