#pragma once
// Fine-grained MoE in wall-clock time. Ludziejewski, Krajewski et al. (2024) found that granularity
// G = 8 reached a given loss fastest on A100s: finer experts lower the loss per FLOP, but the routing
// cost grows with the number of experts. This measures the same trade-off on this machine from the
// runs of a granularity sweep (the granularity-cpu preset). Runs are grouped by (dataset, width,
// step budget); for each G of a group that has at least two:
//
//   tokens_per_s        training tokens per second of wall time, mean over seeds
//   final_eval_loss     held-out loss at the end, mean over seeds
//   target_loss         the group's worst final_eval_loss: a loss every G reaches on average
//   seconds_to_target   training wall time at the first held-out evaluation at or below the target,
//                       mean over the seeds that reached it (`reached` of `runs`); periodic held-out
//                       evaluations count as training time, so eval_every must be the same across G
//
// `lab report` writes these as DIR/granularity.csv, prints them and draws
// plots/granularity_wall_clock.{png,svg} when the runs vary G.

#include <filesystem>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "results/report.h"

namespace lab {

// The runs compared with each other: the same dataset, width and step budget.
using GranularityGroup = std::tuple<std::string, double, double>;  // dataset, d_model, steps

struct GranularityRow {
  std::string data_label;
  double d_model = 0, steps = 0, granularity = 0, experts = 0, top_k = 0;
  int runs = 0, reached = 0;
  double tokens_per_s = 0, final_eval_loss = 0, target_loss = 0;
  std::optional<double> seconds_to_target;
  bool fastest = false;  // the least seconds_to_target of its group

  GranularityGroup group() const { return {data_label, d_model, steps}; }
};

// A run's held-out losses against training wall time: (seconds, eval_loss) in step order, each
// evaluation at the wall time of the latest training line at or before its step.
std::vector<std::pair<double, double>> eval_loss_by_seconds(const std::vector<CurvePoint>& curve);

// The rows, ordered by dataset, width, step budget, G. Runs without a granularity, a held-out loss
// or a wall time are left out; so is a group with a single G.
std::vector<GranularityRow> granularity_wall_clock(const std::vector<RunCurve>& curves);

// CSV with a header line, atomically; written only when `rows` is not empty.
void write_granularity_csv(const std::filesystem::path& file, const std::vector<GranularityRow>& rows);

// The table, as `lab report` prints it.
std::string format_granularity_table(const std::vector<GranularityRow>& rows);

}  // namespace lab
