#include "trainer/lr_schedule.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "trainer/train_config.h"

namespace lab {
namespace {

TEST(LrSchedule, WarmupLinearHasItsKnownValues) {
  ScheduleConfig s{ScheduleKind::warmup_linear, 1e-3, 0.2, 0.0};  // Mixture of Parrots
  // 100 steps: 20 of warmup (1/20 of the peak per step), then linear decay over 80 steps to 0.
  EXPECT_DOUBLE_EQ(learning_rate(s, 0, 100), 1e-3 / 20);
  EXPECT_DOUBLE_EQ(learning_rate(s, 9, 100), 1e-3 * 10 / 20);
  EXPECT_DOUBLE_EQ(learning_rate(s, 19, 100), 1e-3);
  EXPECT_DOUBLE_EQ(learning_rate(s, 20, 100), 1e-3);
  EXPECT_DOUBLE_EQ(learning_rate(s, 60, 100), 0.5e-3);
  EXPECT_DOUBLE_EQ(learning_rate(s, 80, 100), 0.25e-3);
  EXPECT_DOUBLE_EQ(learning_rate(s, 100, 100), 0.0);
}

TEST(LrSchedule, WarmupCosineDecaysToTenPercentOfPeak) {
  ScheduleConfig s{ScheduleKind::warmup_cosine, 2e-4, 0.01, 0.1};  // fine-grained MoE scaling laws
  EXPECT_DOUBLE_EQ(learning_rate(s, 0, 1000), 2e-4 / 10);
  EXPECT_DOUBLE_EQ(learning_rate(s, 9, 1000), 2e-4);
  EXPECT_DOUBLE_EQ(learning_rate(s, 10, 1000), 2e-4);
  EXPECT_NEAR(learning_rate(s, 505, 1000), 2e-5 + 1.8e-4 * 0.5, 1e-15);  // halfway: cos(pi/2) = 0
  EXPECT_NEAR(learning_rate(s, 1000, 1000), 2e-5, 1e-15);
}

TEST(LrSchedule, ConstantIgnoresTheStep) {
  ScheduleConfig s{ScheduleKind::constant, 3e-4, 0.5, 0.0};
  EXPECT_DOUBLE_EQ(learning_rate(s, 0, 10), 3e-4);
  EXPECT_DOUBLE_EQ(learning_rate(s, 9, 10), 3e-4);
}

TEST(LrSchedule, RejectsBadValuesNamingTheFlag) {
  TrainConfig valid;
  valid.data_dir = valid.out_dir = "-";
  auto message = [&valid](ScheduleConfig s) {
    TrainConfig c = valid;
    c.schedule = s;
    try {
      c.validate();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(message({ScheduleKind::warmup_linear, 1e-3, 0.2, 0.0}), "");
  EXPECT_NE(message({ScheduleKind::warmup_linear, 0.0, 0.2, 0.0}).find("--lr"), std::string::npos);
  EXPECT_NE(message({ScheduleKind::warmup_linear, 1e-3, 1.0, 0.0}).find("--warmup must be in [0, 1), got 1"),
            std::string::npos);
  EXPECT_NE(message({ScheduleKind::warmup_linear, 1e-3, 0.2, 1.5}).find("--min-lr-ratio"), std::string::npos);
  EXPECT_EQ(enum_from_name<ScheduleKind>("cosine"), std::nullopt);
  EXPECT_EQ(enum_from_name<ScheduleKind>(to_string(ScheduleKind::warmup_cosine)),
            ScheduleKind::warmup_cosine);
}

}  // namespace
}  // namespace lab
