// granularity_wall_clock on hand-made runs whose throughput, held-out curves and expected answers are
// worked out here by hand.
#include "results/granularity.h"

#include <cmath>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace lab {
namespace {

const double kNan = std::nan("");

std::string fmt_id(double g, double seed, double d, double steps) {
  return fmt::format("g{}_s{}_d{}_{}", g, seed, d, steps);
}

ResultRow run(double g, double seed, double tokens, double seconds, double final_eval, double d = 32,
              double steps = 300) {
  ResultRow r;
  r.run_id = fmt_id(g, seed, d, steps);
  r.data_label = "shortest-path, 6-10 nodes, 1000 examples";
  r.granularity = g;
  r.experts = 4 * g;
  r.top_k = g;
  r.d_model = d;
  r.steps = steps;
  r.seed = seed;
  r.tokens = tokens;
  r.wall_seconds = seconds;
  r.eval_loss = final_eval;
  return r;
}

// Held-out losses at steps 100, 200, 300 with training lines (and wall times) at the same steps.
std::vector<CurvePoint> curve(std::array<double, 3> seconds, std::array<double, 3> eval) {
  std::vector<CurvePoint> points;
  for (int i = 0; i < 3; ++i)
    points.push_back({100.0 * (i + 1), 1000.0 * (i + 1), 2.0, eval[i], seconds[i], kNan});
  return points;
}

TEST(GranularityWallClock, ThroughputTargetAndTimeToTargetPerG) {
  // G = 1, two seeds: 1000 tok/s and 500 tok/s; final held-out 1.0 and 1.2 (mean 1.1).
  // G = 4, one seed: 2000 tok/s; final held-out 0.9.
  // Target = the worst mean final loss = 1.1. G = 1 seed 0 reaches it at its 2nd evaluation (20 s),
  // seed 1 never (1.2); G = 4 at its 1st (4 s): fastest.
  std::vector<ResultRow> rows = {run(1, 0, 30000, 30, 1.0), run(1, 1, 30000, 60, 1.2),
                                 run(4, 0, 30000, 15, 0.9)};
  std::vector<RunCurve> curves = {{&rows[0], curve({10, 20, 30}, {1.5, 1.05, 1.0})},
                                  {&rows[1], curve({20, 40, 60}, {1.6, 1.3, 1.2})},
                                  {&rows[2], curve({4, 9, 15}, {1.1, 0.95, 0.9})}};
  const std::vector<GranularityRow> out = granularity_wall_clock(curves);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].granularity, 1);
  EXPECT_EQ(out[0].runs, 2);
  EXPECT_DOUBLE_EQ(out[0].tokens_per_s, 750);
  EXPECT_DOUBLE_EQ(out[0].final_eval_loss, 1.1);
  EXPECT_DOUBLE_EQ(out[0].target_loss, 1.1);
  EXPECT_EQ(out[0].reached, 1);
  ASSERT_TRUE(out[0].seconds_to_target);
  EXPECT_DOUBLE_EQ(*out[0].seconds_to_target, 20);
  EXPECT_FALSE(out[0].fastest);
  EXPECT_EQ(out[1].granularity, 4);
  EXPECT_EQ(out[1].experts, 16);
  EXPECT_DOUBLE_EQ(out[1].tokens_per_s, 2000);
  EXPECT_DOUBLE_EQ(out[1].target_loss, 1.1);
  EXPECT_EQ(out[1].reached, 1);
  EXPECT_DOUBLE_EQ(*out[1].seconds_to_target, 4);
  EXPECT_TRUE(out[1].fastest);
  EXPECT_NE(format_granularity_table(out).find("4.0 *"), std::string::npos) << format_granularity_table(out);
}

TEST(GranularityWallClock, EvaluationsWithoutTheirOwnTrainingLineTakeTheLatestWallTime) {
  std::vector<ResultRow> rows = {run(1, 0, 3000, 30, 1.0), run(2, 0, 3000, 30, 1.0)};
  std::vector<CurvePoint> sparse = {{100, 1000, 2.0, kNan, 10, kNan}, {150, kNan, kNan, 1.0, kNan, kNan}};
  std::vector<RunCurve> curves = {{&rows[0], sparse}, {&rows[1], sparse}};
  const auto out = granularity_wall_clock(curves);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_DOUBLE_EQ(*out[0].seconds_to_target, 10);
}

TEST(GranularityWallClock, LeavesOutSingleGGroupsAndRunsWithoutWhatItNeeds) {
  std::vector<ResultRow> rows = {run(1, 0, 3000, 30, 1.0, 64),       // alone at d = 64
                                 run(1, 0, 3000, 30, 1.0, 32, 100),  // alone at 100 steps
                                 run(2, 0, 3000, 30, 1.0, 32, 100)};
  rows[2].eval_loss.reset();  // no held-out loss: left out, so the 100-step group has one G
  ResultRow dense = run(1, 0, 3000, 30, 1.0);
  dense.granularity.reset();
  rows.push_back(dense);
  std::vector<RunCurve> curves;
  for (const ResultRow& r : rows) curves.push_back({&r, curve({1, 2, 3}, {1, 1, 1})});
  EXPECT_TRUE(granularity_wall_clock(curves).empty());
}

}  // namespace
}  // namespace lab
