// gtest main for multi-rank tests (docs/style.md): MPI_Init, only rank 0 prints as tests run, every rank
// exits non-zero when any rank had a failure (so mpirun reports it whichever rank failed), and rank 0 prints
// the failures of the other ranks (file, line, message), gathered at the end: a failure on rank 2 of 3 is
// otherwise invisible. A run with skips and no failure exits 77 (tests/common/gtest_exit_status.h).
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/gtest_exit_status.h"

namespace {

// Collects the failed assertions of one rank as text, in place of gtest's printer on ranks != 0.
class FailureRecorder : public ::testing::EmptyTestEventListener {
 public:
  // The test's name from here: UnitTest::current_test_info() would take the lock gtest holds while it
  // reports a part result (a deadlock).
  void OnTestStart(const ::testing::TestInfo& test) override {
    test_ = std::string(test.test_suite_name()) + "." + test.name();
  }
  void OnTestEnd(const ::testing::TestInfo&) override { test_.clear(); }
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    if (!test_.empty()) text_ += test_ + ": ";
    text_ += std::string(result.file_name() ? result.file_name() : "(unknown file)") + ":" +
             std::to_string(result.line_number()) + ": Failure\n" + result.message() + "\n";
  }
  const std::string& text() const { return text_; }

 private:
  std::string test_;
  std::string text_;
};

// Rank 0 gets every rank's text, in rank order (empty strings for ranks without failures).
std::vector<std::string> gather_text(const std::string& local, int rank, int size) {
  int length = static_cast<int>(local.size());
  std::vector<int> lengths(size, 0);
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::vector<int> offsets(size, 0);
  int total = 0;
  for (int r = 0; r < size; ++r) {
    offsets[r] = total;
    total += lengths[r];
  }
  std::vector<char> all(rank == 0 ? total + 1 : 1);
  MPI_Gatherv(local.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
  std::vector<std::string> texts;
  if (rank == 0) {
    for (int r = 0; r < size; ++r) texts.emplace_back(all.data() + offsets[r], lengths[r]);
  }
  return texts;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  int size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  FailureRecorder* recorder = nullptr;  // owned by gtest's listener list once appended
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    recorder = new FailureRecorder;
    listeners.Append(recorder);
  }
  const int local_failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  const auto& unit = *::testing::UnitTest::GetInstance();
  const int local_skipped = unit.skipped_test_count();
  int any_failed = 0;
  int max_skipped = 0;
  MPI_Allreduce(&local_failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Allreduce(&local_skipped, &max_skipped, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  const std::vector<std::string> failures =
      gather_text(recorder != nullptr ? recorder->text() : std::string(), rank, size);
  for (int r = 1; r < static_cast<int>(failures.size()); ++r) {
    if (failures[r].empty()) continue;
    std::printf("[==========] rank %d of %d had failing tests:\n%s", r, size, failures[r].c_str());
  }
  std::fflush(stdout);
  int status = 0;
  if (rank == 0) {
    status = switchdiff::testing::exit_status(any_failed != 0, max_skipped, unit.test_to_run_count());
  } else {
    status = any_failed != 0 ? 1 : (max_skipped > 0 ? switchdiff::testing::kSkipExitCode : 0);
  }
  MPI_Finalize();
  return status;
}
