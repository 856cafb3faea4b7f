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

void log_warning(const std::string& message) {
  std::cerr << rank_tag() << " warning: " << message << std::endl;
}

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e8) return "--";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

Progress::Progress(std::string label, int64_t total, std::string unit, double interval_seconds)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      interval_seconds_(interval_seconds),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(int64_t done) {
  done_ = done;
  const auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_print_).count() < interval_seconds_ && done_ < total_) return;
  last_print_ = now;
  const double elapsed = elapsed_seconds();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : -1.0;
  const double percent = total_ > 0 ? 100.0 * static_cast<double>(done_) / static_cast<double>(total_) : 100.0;
  info("{}: {}/{} {} ({:.1f}%), {:.2f} {}/s, elapsed {}, ETA {}", label_, done_, total_, unit_, percent, rate,
       unit_, format_duration(elapsed), format_duration(eta));
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  const double elapsed = elapsed_seconds();
  info("{}: done, {} {} in {} ({:.2f} {}/s)", label_, done_, unit_, format_duration(elapsed),
       elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0, unit_);
}

}  // namespace switchdiff::core
