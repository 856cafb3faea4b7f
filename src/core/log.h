#pragma once
// Rank-aware logging and progress (docs/style.md): only rank 0 prints progress and summaries;
// errors from any rank are prefixed "[rank R@host]". The rank is set once by the CLI after MPI init.
#include <chrono>
#include <cstdint>
#include <string>

#include <fmt/format.h>

namespace switchdiff::core {

void set_log_rank(int rank, int world_size);
int log_rank();
int log_world_size();
// "[rank R@host]" for error messages.
std::string rank_tag();

// Printed by rank 0 only (stdout), flushed.
void log_info(const std::string& message);
template <class... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  log_info(fmt::format(format, std::forward<Args>(args)...));
}
// Printed by every rank to stderr with the rank tag.
void log_warning(const std::string& message);

// Progress of one long loop: rank 0 shows "label: done/total (pct), rate, elapsed, ETA" and ends with one summary
// line. On a terminal the line updates in place; otherwise (a log file) a line every `interval_seconds` (default:
// set_progress_seconds(), the run.progress_seconds key), never the same line twice. `done` counts global work
// items (all ranks together).
inline constexpr double kDefaultProgressSeconds = 30.0;  // run.progress_seconds
void set_progress_seconds(double seconds);

class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit = "items", double interval_seconds = -1);
  void update(int64_t done);
  void finish();
  double elapsed_seconds() const;

 private:
  std::string label_;
  std::string unit_;
  int64_t total_;
  int64_t done_ = 0;
  double interval_seconds_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
  bool finished_ = false;
  bool overwriting_ = false;  // an in-place line is on the terminal
};

std::string format_duration(double seconds);

}  // namespace switchdiff::core
