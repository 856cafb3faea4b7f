#pragma once
// The signals that request a clean stop (docs/cli.md#signals): SIGTERM (preemption, scancel), SIGUSR1 (SLURM's
// --signal before a time limit) and SIGINT (Ctrl-C). One list for the launcher, which blocks them before the engine
// loads (src/cli/launcher.cpp, C library only: this header needs nothing else), and for the handlers
// (src/pipeline/stop_request.cpp), which unblock them once installed.
#include <signal.h>

namespace switchdiff::pipeline {

inline constexpr int kStopSignals[] = {SIGTERM, SIGUSR1, SIGINT};

inline sigset_t stop_signal_set() {
  sigset_t set;
  sigemptyset(&set);
  for (const int s : kStopSignals) sigaddset(&set, s);
  return set;
}

}  // namespace switchdiff::pipeline
