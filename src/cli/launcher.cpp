// `switchdiff`, the command users and scripts run: it blocks the stop signals (src/pipeline/stop_signals.h) and
// replaces itself with the engine, `switchdiff-engine` in the same folder (src/cli/main.cpp). A blocked signal
// stays pending across exec, and the engine unblocks the stop signals once its handlers are installed
// (src/pipeline/stop_request.cpp). Without this step a signal while LibTorch, MPI and HDF5 load and run their
// static initialisers, about a second before main() on 2 busy cores, took the default action: the process died
// with 143 instead of stopping cleanly with exit 3 (docs/cli.md#signals). This file uses the C library only, so
// the window before the signals are blocked is the loading of libc alone.
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/stop_signals.h"

int main(int /*argc*/, char** argv) {
  const sigset_t stop_signals = switchdiff::pipeline::stop_signal_set();
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);

  char self[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length <= 0) {
    fprintf(stderr, "switchdiff: error: cannot find its own path (/proc/self/exe): %s\n", strerror(errno));
    return 2;
  }
  self[length] = '\0';
  char* slash = strrchr(self, '/');
  const char engine_name[] = "switchdiff-engine";
  if (slash == nullptr || static_cast<size_t>(slash + 1 - self) + sizeof engine_name > sizeof self) {
    fprintf(stderr, "switchdiff: error: unexpected path of its own executable: %s\n", self);
    return 2;
  }
  memcpy(slash + 1, engine_name, sizeof engine_name);
  execv(self, argv);
  fprintf(stderr,
          "switchdiff: error: cannot run %s: %s; it is built beside switchdiff (cmake --build build --target "
          "switchdiff)\n",
          self, strerror(errno));
  return 2;
}
