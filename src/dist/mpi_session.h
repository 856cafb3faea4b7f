#pragma once
// RAII ownership of MPI for main() (docs/style.md): MPI_Init_thread on construction, MPI_Finalize on
// destruction. Works without a launcher (Open MPI singleton: one rank). Communicators made by
// make_communicator() must be destroyed before the session.
namespace switchdiff::dist {

class MpiSession {
 public:
  // Initializes MPI with MPI_THREAD_FUNNELED (only the main thread calls MPI). If MPI is already initialized
  // (e.g. by a test main), the session adopts it and does not finalize. Throws CommError on failure.
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  // Ends every rank of the job with `exit_code` (docs/cli.md) after an error on this rank: a lone throwing
  // rank would otherwise leave the others blocked in a collective. Falls back to std::exit when MPI is not
  // running.
  [[noreturn]] static void abort(int exit_code);

  // MPI_Initialized and not yet MPI_Finalized.
  static bool active();
  // MPI_COMM_WORLD rank and size (0 and 1 when MPI is not active).
  static int world_rank();
  static int world_size();

 private:
  bool owns_ = false;
};

}  // namespace switchdiff::dist
