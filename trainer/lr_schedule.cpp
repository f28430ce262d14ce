#include "trainer/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace lab {

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

}  // namespace lab
