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

#include "core/fields.h"

namespace lab {

enum class ScheduleKind { warmup_linear, warmup_cosine, constant };
inline constexpr EnumName<ScheduleKind> kScheduleNames[] = {{"warmup-linear", ScheduleKind::warmup_linear},
                                                            {"warmup-cosine", ScheduleKind::warmup_cosine},
                                                            {"constant", ScheduleKind::constant}};
constexpr std::span<const EnumName<ScheduleKind>> enum_names(ScheduleKind) { return kScheduleNames; }

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::warmup_linear;
  double peak_lr = 1e-3;      // learning rate at the end of warmup
  double warmup = 0.2;        // fraction of the total steps spent warming up, in [0, 1)
  double min_lr_ratio = 0.0;  // final learning rate as a fraction of the peak, in [0, 1]
  // Its ranges are TrainConfig's fields (lr, warmup, min_lr_ratio): TrainConfig::validate() checks them.

  bool operator==(const ScheduleConfig&) const = default;
};

// The learning rate for optimizer step `step` (0-based) of `total_steps`.
double learning_rate(const ScheduleConfig& schedule, std::int64_t step, std::int64_t total_steps);

inline std::string to_string(ScheduleKind kind) { return std::string(enum_name(kind)); }

}  // namespace lab
