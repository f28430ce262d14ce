#pragma once
// Learning-rate schedules of the two papers, as pure functions of the step.
//
//   warmup_linear: linear warmup over the first `warmup` fraction of steps, then linear decay to
//                  min_lr_ratio * peak (Mixture of Parrots: 20% warmup, decay to 0).
//   warmup_cosine: linear warmup, then cosine decay to min_lr_ratio * peak (fine-grained MoE
//                  scaling laws: 1% warmup, cosine to 10% of peak).
//   constant:      the peak throughout (for debugging and tiny runs).

#include <cstdint>
#include <string>

namespace lab {

enum class ScheduleKind { warmup_linear, warmup_cosine, constant };

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::warmup_linear;
  double peak_lr = 1e-3;      // learning rate at the end of warmup
  double warmup = 0.2;        // fraction of the total steps spent warming up, in [0, 1)
  double min_lr_ratio = 0.0;  // final learning rate as a fraction of the peak, in [0, 1]

  void validate() const;  // lab::Error naming the flag
};

// The learning rate for optimizer step `step` (0-based) of `total_steps`.
double learning_rate(const ScheduleConfig& schedule, std::int64_t step, std::int64_t total_steps);

ScheduleKind parse_schedule_kind(const std::string& text);  // lab::Error for an unknown name
std::string to_string(ScheduleKind kind);

}  // namespace lab
