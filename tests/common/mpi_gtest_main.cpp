// gtest main for multi-rank tests (docs/style.md): MPI_Init, only rank 0 prints, and every rank
// exits non-zero when any rank had a failure (so mpirun reports it whichever rank failed).
#include <gtest/gtest.h>
#include <mpi.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int local_failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int any_failed = 0;
  MPI_Allreduce(&local_failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank != 0 && local_failed) std::fprintf(stderr, "rank %d had failing tests\n", rank);
  MPI_Finalize();
  return any_failed;
}
