#pragma once
// A progress bar on stderr for long work: drawn only on a terminal, only once the work has run for a
// second, and never with --quiet. Off a terminal it prints nothing (logs stay clean).

#include <chrono>
#include <cstdint>
#include <string>

namespace lab {

class Progress {
 public:
  // label: what is being done ("shortest-path train"); total: units of work (examples).
  Progress(std::string label, std::uint64_t total, bool quiet);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void update(std::uint64_t done);  // cheap to call often: redraws at most 10 times a second
  void finish();                    // clears the bar

 private:
  std::string label_;
  std::uint64_t total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// Formats a count compactly: 950, 12.3k, 4.56M.
std::string human_count(double count);

}  // namespace lab
