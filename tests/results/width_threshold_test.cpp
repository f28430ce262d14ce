// The two-hop width-threshold series on hand-made rows: grouping by dense / MoE, |V| and expert count,
// x = d_model / |V|, mean and range over seeds; other tasks and rows without what it needs left out;
// and the figure drawn by `lab report`'s plot code when gnuplot is there.
#include "results/width_threshold.h"

#include <cmath>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace lab {
namespace {

ResultRow two_hop(double vertices, double d, double seed, double accuracy, double experts = 0) {
  ResultRow r;
  r.task = "two-hop";
  r.vertices = vertices;
  r.d_model = d;
  r.seed = seed;
  r.accuracy = accuracy;
  r.ffn = experts > 0 ? "moe" : "dense";
  if (experts > 0) {
    r.experts = experts;
    r.top_k = 2;
  }
  return r;
}

TEST(WidthThreshold, SeriesPerKindVerticesAndExpertsWithTheSeedSpread) {
  std::vector<ResultRow> rows = {
      two_hop(16, 32, 0, 0.9),    two_hop(16, 32, 1, 0.7),     two_hop(16, 8, 0, 0.5),
      two_hop(32, 32, 0, 0.6),    two_hop(16, 16, 0, 0.55, 8), two_hop(16, 16, 1, 0.65, 8),
      two_hop(16, 16, 0, 0.5, 4),
  };
  ResultRow other = two_hop(16, 64, 0, 1.0);
  other.task = "connectivity";  // another task: not a point
  rows.push_back(other);
  ResultRow unprobed = two_hop(16, 64, 0, 1.0);
  unprobed.accuracy = std::nullopt;
  rows.push_back(unprobed);
  ResultRow no_vertices = two_hop(16, 128, 0, 1.0);
  no_vertices.vertices = std::nullopt;  // a probe.json of before `vertices`
  rows.push_back(no_vertices);

  const std::vector<WidthSeries> series = width_threshold_series(rows);
  ASSERT_EQ(series.size(), 4u);
  // Dense first, by |V|; then MoE by |V| and experts.
  EXPECT_FALSE(series[0].moe);
  EXPECT_EQ(series[0].vertices, 16);
  ASSERT_EQ(series[0].points.size(), 2u);  // d 8 and d 32
  EXPECT_EQ(series[0].points[0].d_model, 8);
  EXPECT_DOUBLE_EQ(series[0].points[0].width_ratio, 0.5);
  EXPECT_DOUBLE_EQ(series[0].points[1].width_ratio, 2.0);
  EXPECT_DOUBLE_EQ(series[0].points[1].mean, 0.8);
  EXPECT_DOUBLE_EQ(series[0].points[1].min, 0.7);
  EXPECT_DOUBLE_EQ(series[0].points[1].max, 0.9);
  EXPECT_EQ(series[0].points[1].seeds, 2);
  EXPECT_EQ(series[0].title(), "|V| = 16");
  EXPECT_FALSE(series[1].moe);
  EXPECT_EQ(series[1].vertices, 32);
  EXPECT_DOUBLE_EQ(series[1].points[0].width_ratio, 1.0);
  EXPECT_TRUE(series[2].moe);
  EXPECT_EQ(series[2].experts, 4);
  EXPECT_TRUE(series[3].moe);
  EXPECT_EQ(series[3].experts, 8);
  EXPECT_DOUBLE_EQ(series[3].points[0].mean, 0.6);
  EXPECT_EQ(series[3].title(), "|V| = 16, 8 experts top-2");
  EXPECT_TRUE(width_threshold_series({other}).empty());
}

TEST(WidthThreshold, DrawsBothPanelsOrNothing) {
  test::TempDir dir;
  EXPECT_TRUE(render_width_threshold_plot(dir / "plots", {}).empty());
  EXPECT_FALSE(std::filesystem::exists(dir / "plots" / "width_threshold.png"));
  const auto notes = render_width_threshold_plot(
      dir / "plots", width_threshold_series({two_hop(16, 32, 0, 0.9), two_hop(16, 16, 0, 0.5, 8)}));
  if (!notes.empty()) GTEST_SKIP() << notes[0];  // no gnuplot: the note says so
  EXPECT_TRUE(std::filesystem::exists(dir / "plots" / "width_threshold.png"));
  EXPECT_TRUE(std::filesystem::exists(dir / "plots" / "width_threshold.svg"));
}

}  // namespace
}  // namespace lab
