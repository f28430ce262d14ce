#include "trainer/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"

namespace lab {

void ScheduleConfig::validate() const {
  if (!(peak_lr > 0)) fail("--lr must be positive, got {}", peak_lr);
  if (!(warmup >= 0 && warmup < 1)) fail("--warmup must be a fraction in [0, 1), got {}", warmup);
  if (!(min_lr_ratio >= 0 && min_lr_ratio <= 1))
    fail("--min-lr-ratio must be in [0, 1], got {}", min_lr_ratio);
}

double learning_rate(const ScheduleConfig& s, std::int64_t step, std::int64_t total_steps) {
  if (s.kind == ScheduleKind::constant) return s.peak_lr;
  const double total = static_cast<double>(std::max<std::int64_t>(total_steps, 1));
  const double warmup_steps = std::floor(s.warmup * total);
  const double t = static_cast<double>(step);
  // Step 0 of a warmup gets 1/warmup_steps of the peak, not 0: a zero first step would waste a batch.
  if (t < warmup_steps) return s.peak_lr * (t + 1) / warmup_steps;
  const double decay_steps = std::max(1.0, total - warmup_steps);
  const double progress = std::clamp((t - warmup_steps) / decay_steps, 0.0, 1.0);  // 0 -> 1 over the decay
  const double floor_lr = s.min_lr_ratio * s.peak_lr;
  if (s.kind == ScheduleKind::warmup_linear) return floor_lr + (s.peak_lr - floor_lr) * (1 - progress);
  return floor_lr + (s.peak_lr - floor_lr) * 0.5 * (1 + std::cos(std::numbers::pi * progress));
}

ScheduleKind parse_schedule_kind(const std::string& text) {
  if (text == "warmup-linear") return ScheduleKind::warmup_linear;
  if (text == "warmup-cosine") return ScheduleKind::warmup_cosine;
  if (text == "constant") return ScheduleKind::constant;
  fail("--schedule must be warmup-linear, warmup-cosine or constant, got '{}'", text);
}

std::string to_string(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::warmup_linear:
      return "warmup-linear";
    case ScheduleKind::warmup_cosine:
      return "warmup-cosine";
    case ScheduleKind::constant:
      return "constant";
  }
  return "?";
}

}  // namespace lab
