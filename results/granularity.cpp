#include "results/granularity.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "core/atomic_file.h"

namespace lab {
namespace {

// One run's contribution: its throughput, final held-out loss and held-out curve.
struct RunSummary {
  double tokens_per_s, final_eval_loss;
  std::vector<std::pair<double, double>> eval_by_seconds;  // (seconds, eval_loss), in step order
};

std::optional<RunSummary> summarize(const RunCurve& c) {
  const ResultRow& r = *c.row;
  if (!r.tokens || !r.wall_seconds || *r.wall_seconds <= 0 || !r.eval_loss) return std::nullopt;
  return RunSummary{*r.tokens / *r.wall_seconds, *r.eval_loss, eval_loss_by_seconds(c.points)};
}

}  // namespace

std::vector<std::pair<double, double>> eval_loss_by_seconds(const std::vector<CurvePoint>& curve) {
  std::vector<std::pair<double, double>> points;
  double seconds = std::nan("");
  for (const CurvePoint& p : curve) {
    if (!std::isnan(p.seconds)) seconds = p.seconds;
    if (!std::isnan(p.eval_loss) && !std::isnan(seconds)) points.emplace_back(seconds, p.eval_loss);
  }
  return points;
}

std::vector<GranularityRow> granularity_wall_clock(const std::vector<RunCurve>& curves) {
  std::map<GranularityGroup, std::map<double, std::vector<RunSummary>>> groups;
  std::map<std::pair<GranularityGroup, double>, const ResultRow*> example;
  for (const RunCurve& c : curves) {
    const ResultRow& r = *c.row;
    if (!r.granularity || *r.granularity <= 0 || !r.d_model || !r.steps) continue;
    auto summary = summarize(c);
    if (!summary) continue;
    const GranularityGroup key{r.data_label, *r.d_model, *r.steps};
    groups[key][*r.granularity].push_back(std::move(*summary));
    example.try_emplace({key, *r.granularity}, &r);
  }

  std::vector<GranularityRow> rows;
  for (const auto& [key, by_g] : groups) {
    if (by_g.size() < 2) continue;
    const std::size_t first = rows.size();
    for (const auto& [g, runs] : by_g) {
      const ResultRow& r = *example.at({key, g});
      GranularityRow row;
      std::tie(row.data_label, row.d_model, row.steps) = key;
      row.granularity = g;
      row.experts = r.experts.value_or(0);
      row.top_k = r.top_k.value_or(0);
      row.runs = static_cast<int>(runs.size());
      for (const RunSummary& s : runs) {
        row.tokens_per_s += s.tokens_per_s / row.runs;
        row.final_eval_loss += s.final_eval_loss / row.runs;
      }
      rows.push_back(row);
    }
    double target = 0;
    for (std::size_t i = first; i < rows.size(); ++i) target = std::max(target, rows[i].final_eval_loss);
    std::optional<double> best;
    for (std::size_t i = first; i < rows.size(); ++i) {
      GranularityRow& row = rows[i];
      row.target_loss = target;
      double sum = 0;
      for (const RunSummary& s : by_g.at(row.granularity)) {
        auto hit = std::find_if(s.eval_by_seconds.begin(), s.eval_by_seconds.end(),
                                [&](const auto& point) { return point.second <= target; });
        if (hit == s.eval_by_seconds.end()) continue;
        sum += hit->first;
        ++row.reached;
      }
      if (row.reached > 0) row.seconds_to_target = sum / row.reached;
      if (row.seconds_to_target && (!best || *row.seconds_to_target < *best)) best = row.seconds_to_target;
    }
    for (std::size_t i = first; i < rows.size(); ++i)
      rows[i].fastest = best && rows[i].seconds_to_target == best;
  }
  return rows;
}

void write_granularity_csv(const std::filesystem::path& file, const std::vector<GranularityRow>& rows) {
  if (rows.empty()) return;
  std::string csv =
      "dataset,d_model,steps,granularity,experts,top_k,runs,tokens_per_s,final_eval_loss,target_loss,"
      "seconds_to_target,reached,fastest\n";
  for (const GranularityRow& r : rows) {
    csv += fmt::format(
        "\"{}\",{:g},{:g},{:g},{:g},{:g},{},{:.6g},{:.6g},{:.6g},{},{},{}\n", r.data_label, r.d_model,
        r.steps, r.granularity, r.experts, r.top_k, r.runs, r.tokens_per_s, r.final_eval_loss, r.target_loss,
        r.seconds_to_target ? fmt::format("{:.6g}", *r.seconds_to_target) : "", r.reached, r.fastest ? 1 : 0);
  }
  write_file_atomically(file, csv);
}

std::string format_granularity_table(const std::vector<GranularityRow>& rows) {
  std::string out = fmt::format("{:<42} {:>5} {:>6} {:>4} {:>7} {:>9} {:>10} {:>10} {:>14}\n", "dataset", "d",
                                "steps", "G", "E x k", "tokens/s", "eval loss", "target", "s to target");
  for (const GranularityRow& r : rows) {
    out +=
        fmt::format("{:<42} {:>5g} {:>6g} {:>4g} {:>7} {:>9.0f} {:>10.4f} {:>10.4f} {:>14}\n", r.data_label,
                    r.d_model, r.steps, r.granularity, fmt::format("{:g}x{:g}", r.experts, r.top_k),
                    r.tokens_per_s, r.final_eval_loss, r.target_loss,
                    r.seconds_to_target
                        ? fmt::format("{:.1f}{}{}", *r.seconds_to_target,
                                      r.reached < r.runs ? fmt::format(" ({}/{})", r.reached, r.runs) : "",
                                      r.fastest ? " *" : "")
                        : fmt::format("- (0/{})", r.runs));
  }
  return out + "* the G that reached its group's target held-out loss first in wall-clock time\n";
}

}  // namespace lab
