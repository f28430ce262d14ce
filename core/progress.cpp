#include "core/progress.h"

#include <cstdio>

#include <fmt/format.h>
#include <unistd.h>

namespace lab {

std::string human_count(double count) {
  if (count >= 1e9) return fmt::format("{:.2f}G", count / 1e9);
  if (count >= 1e6) return fmt::format("{:.2f}M", count / 1e6);
  if (count >= 1e4) return fmt::format("{:.1f}k", count / 1e3);
  return fmt::format("{:.0f}", count);
}

Progress::Progress(std::string label, std::uint64_t total, bool quiet)
    : label_(std::move(label)),
      total_(total),
      enabled_(!quiet && isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::update(std::uint64_t done) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  double elapsed = std::chrono::duration<double>(now - start_).count();
  if (elapsed < 1.0 || now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  double fraction = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 0.0;
  constexpr int kWidth = 30;
  int filled = static_cast<int>(fraction * kWidth);
  double rate = static_cast<double>(done) / elapsed;
  double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
  std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
  std::fprintf(stderr, "\r%s [%s] %3.0f%% %s/%s %s/s ETA %.0fs \x1b[K", label_.c_str(), bar.c_str(),
               100 * fraction, human_count(static_cast<double>(done)).c_str(),
               human_count(static_cast<double>(total_)).c_str(), human_count(rate).c_str(), eta);
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (drawn_) std::fprintf(stderr, "\r\x1b[K");
  drawn_ = false;
}

}  // namespace lab
