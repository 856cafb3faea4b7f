#include "pipeline/stop_request.h"

#include <csignal>

#include "pipeline/stop_signals.h"

namespace switchdiff::pipeline {
namespace {
volatile std::sig_atomic_t g_stop = 0;

extern "C" void on_stop_signal(int signal) {
  if (signal == SIGINT && g_stop) {
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
  }
  g_stop = 1;
}
}  // namespace

void install_stop_handlers() {
  for (const int s : kStopSignals) std::signal(s, on_stop_signal);
  // The launcher (src/cli/launcher.cpp) started this process with the stop signals blocked, so one that came while
  // the libraries loaded is pending: unblocking delivers it to the handler above.
  const sigset_t stop_signals = stop_signal_set();
  sigprocmask(SIG_UNBLOCK, &stop_signals, nullptr);
}

bool stop_requested() { return g_stop != 0; }

}  // namespace switchdiff::pipeline
