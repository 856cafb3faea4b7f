// switchdiff: evaluation of merged diffusion models (docs/cli.md). Dispatches to a subcommand, owns MPI,
// and turns every error into one message and the exit code of docs/cli.md (1 bad input, 2 runtime, 3 stopped).
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <malloc.h>

#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"
#include "dist/communicator.h"
#include "dist/mpi_session.h"
#include "io/h5_file.h"
#include "pipeline/stop_request.h"

namespace switchdiff::cli {
namespace {

void print_usage() {
  std::printf("usage: switchdiff <command> [--config FILE.ini] [--section.key VALUE ...]\n\ncommands:\n");
  for (const auto& c : all_commands()) {
    const std::string first_sentence = c.spec.summary.substr(0, c.spec.summary.find(". ") + 1);
    std::printf("  %-9s %s\n", c.spec.name.c_str(), first_sentence.c_str());
  }
  std::printf(
      "\n`switchdiff <command> --help` lists every key with its default.\n"
      "tools/run_demo.sh runs a switch-point sweep of the bundled Fashion-MNIST demo experts.\n");
}

// LibTorch threads per rank: run.threads, else SLURM's cpus-per-task, else the cores divided among the ranks on
// this node (Debian's LibTorch would use 1 thread if not told).
void set_threads(const ParsedCommandLine& args) {
  int64_t threads = 0;
  if (args.config.declares("run.threads") && args.config.has("run.threads"))
    threads = args.config.integer("run.threads");
  if (threads <= 0 && std::getenv("SLURM_CPUS_PER_TASK")) {  // the allocation says it (srun -c N)
    threads = std::max(1, std::atoi(std::getenv("SLURM_CPUS_PER_TASK")));
  }
  if (threads <= 0) {
    // Ranks on this node: mpirun sets OMPI_*; srun sets SLURM_STEP_TASKS_PER_NODE ("2" or "2(x3)", read as 2)
    // always, SLURM_NTASKS_PER_NODE only with --ntasks-per-node.
    int local_ranks = 1;
    for (const char* var :
         {"OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_STEP_TASKS_PER_NODE", "SLURM_NTASKS_PER_NODE", "MPI_LOCALNRANKS"}) {
      if (const char* v = std::getenv(var)) {
        local_ranks = std::max(1, std::atoi(v));
        break;
      }
    }
    threads = std::max<int64_t>(1, static_cast<int64_t>(std::thread::hardware_concurrency()) / local_ranks);
  }
  at::set_num_threads(static_cast<int>(threads));
}

int report(const std::string& message, int exit_code) {
  std::cerr << core::rank_tag() << " error: " << message << std::endl;
  return exit_code;
}

int run(int argc, char** argv) {
  // First of all: a stop signal during start-up (MPI, loading experts) is then a clean exit 3, never a kill.
  pipeline::install_stop_handlers();
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" || std::string(argv[1]) == "help") {
    print_usage();
    return argc < 2 ? 1 : 0;
  }
  const std::string name = argv[1];
  const Command* command = nullptr;
  for (const auto& c : all_commands()) {
    if (c.spec.name == name) command = &c;
  }
  if (!command) {
    std::cerr << "error: unknown command '" << name << "'\n\n";
    print_usage();
    return 1;
  }

  std::unique_ptr<dist::MpiSession> session;
  if (command->uses_mpi && dist::launched_by_mpi()) session = std::make_unique<dist::MpiSession>(&argc, &argv);
  const bool multi_rank = session && dist::MpiSession::world_size() > 1;
  if (session) core::set_log_rank(dist::MpiSession::world_rank(), dist::MpiSession::world_size());
  int exit_code = 0;
  try {
    const ParsedCommandLine args = parse_command_line(command->spec, argc, argv);
    if (args.help) {
      core::info("{}", args.help_text);
      return 0;
    }
    set_threads(args);
    if (args.config.declares("run.progress_seconds") && args.config.has("run.progress_seconds")) {
      const double seconds = args.config.number("run.progress_seconds");
      if (!(seconds >= 0) || !std::isfinite(seconds)) {
        throw make_error<ConfigError>("run.progress_seconds = {} must be a finite number >= 0", seconds);
      }
      core::set_progress_seconds(seconds);
    }
    const std::string backend = args.config.declares("run.backend") && args.config.has("run.backend")
                                    ? args.config.text("run.backend")
                                    : "serial";
    auto comm = dist::make_communicator(session ? backend : "serial");
    core::set_log_rank(comm->rank(), comm->size());
    // `--dry-run` prints only its JSON on stdout, for scripts.
    if (!args.config.to_ini().empty() && !args.flags.count("dry-run")) {
      // One line per section: the full INI text is stored in every output file (attribute `config`).
      core::info("switchdiff {} on {} rank(s), {} backend, {} thread(s) per rank\n# resolved configuration\n{}", name,
                 comm->size(), comm->backend(), at::get_num_threads(), args.config.to_compact_text());
    }
    exit_code = command->run(args, *comm);
  } catch (const Interrupted& e) {
    // Every rank takes this decision together (a collective stop check), so all can finish MPI normally.
    core::info("{}", e.what());
    return e.exit_code();
  } catch (const Error& e) {
    exit_code = report(e.what(), e.exit_code());
  } catch (const c10::Error& e) {
    const std::string what = e.what();
    exit_code = report("LibTorch: " + what.substr(0, what.find('\n')), 2);
  } catch (const std::exception& e) {
    exit_code = report(e.what(), 2);
  }
  // A lone failing rank would leave the others blocked in a collective: end the whole job.
  if (exit_code != 0 && multi_rank) dist::MpiSession::abort(exit_code);
  return exit_code;
}

}  // namespace
}  // namespace switchdiff::cli

int main(int argc, char** argv) {
  // Keep LibTorch's large conv buffers in the heap instead of returning them to the OS after every
  // network call: measured 3-5x less CPU per PF-ODE evaluation (benchmarks/likelihood). glibc caps
  // the mmap threshold at 32 MiB.
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  switchdiff::io::skip_hdf5_exit_cleanup();  // before any HDF5 call (src/io/h5_file.h says why)
  return switchdiff::cli::run(argc, argv);
}
