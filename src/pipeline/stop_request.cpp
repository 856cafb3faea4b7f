#include "pipeline/stop_request.h"

#include <signal.h>

#include <csignal>

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
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGUSR1, on_stop_signal);
  std::signal(SIGINT, on_stop_signal);
  // The launcher (src/cli/launcher.cpp) started this process with the stop signals blocked, so one that came while
  // the libraries loaded is pending: unblocking delivers it to the handler above.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGUSR1);
  sigaddset(&stop_signals, SIGINT);
  sigprocmask(SIG_UNBLOCK, &stop_signals, nullptr);
}

bool stop_requested() { return g_stop != 0; }

}  // namespace switchdiff::pipeline
