#include "core/log.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace switchdiff::core {
namespace {
int g_rank = 0;
int g_world_size = 1;
}  // namespace

void set_log_rank(int rank, int world_size) {
  g_rank = rank;
  g_world_size = world_size;
}
int log_rank() { return g_rank; }
int log_world_size() { return g_world_size; }

std::string rank_tag() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return fmt::format("[rank {}@{}]", g_rank, host);
}

void log_info(const std::string& message) {
  if (g_rank != 0) return;
  std::fputs(message.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void log_warning(const std::string& message) { std::cerr << rank_tag() << " warning: " << message << std::endl; }

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e8) return "--";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

namespace {
double g_progress_seconds = kDefaultProgressSeconds;
// In-place updates need a terminal; a log file (SLURM, CI) gets whole lines, spaced out.
bool stdout_is_terminal() {
  static const bool terminal = ::isatty(::fileno(stdout)) == 1;
  return terminal;
}
constexpr double kTerminalRefreshSeconds = 0.5;
}  // namespace

void set_progress_seconds(double seconds) { g_progress_seconds = seconds; }

Progress::Progress(std::string label, int64_t total, std::string unit, double interval_seconds)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      interval_seconds_(interval_seconds >= 0 ? interval_seconds : g_progress_seconds),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(int64_t done) {
  done_ = done;
  if (log_rank() != 0 || done_ >= total_) return;  // the end is finish()'s single line
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  if (since < (stdout_is_terminal() ? kTerminalRefreshSeconds : interval_seconds_)) return;
  last_print_ = now;
  const double elapsed = elapsed_seconds();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  const double remaining = rate > 0 ? static_cast<double>(total_ - done_) / rate : -1.0;
  const double percent = total_ > 0 ? 100.0 * static_cast<double>(done_) / static_cast<double>(total_) : 100.0;
  const std::string line =
      fmt::format("{}: {}/{} {} ({:.1f}%), {:.3g} {}/s, elapsed {}, ETA {}", label_, done_, total_, unit_, percent,
                  rate, unit_, format_duration(elapsed), format_duration(remaining));
  if (stdout_is_terminal()) {
    std::fprintf(stdout, "\r%s\033[K", line.c_str());  // overwrite the previous update, clear the rest
    std::fflush(stdout);
    overwriting_ = true;
  } else {
    info("{}", line);
  }
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  const double elapsed = elapsed_seconds();
  const std::string line =
      fmt::format("{}: done, {} {} in {} ({:.3g} {}/s)", label_, done_, unit_, format_duration(elapsed),
                  elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0, unit_);
  if (overwriting_ && log_rank() == 0) {
    std::fprintf(stdout, "\r%s\033[K\n", line.c_str());
    std::fflush(stdout);
  } else {
    info("{}", line);
  }
}

}  // namespace switchdiff::core
