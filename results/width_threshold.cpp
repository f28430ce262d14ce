#include "results/width_threshold.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

#include <fmt/format.h>

#include "results/gnuplot.h"
#include "tasks/task_kind.h"

namespace lab {
namespace fs = std::filesystem;

std::string WidthSeries::title() const {
  if (!moe) return fmt::format("|V| = {:g}", vertices);
  return fmt::format("|V| = {:g}, {:g} experts top-{:g}", vertices, experts, top_k);
}

std::vector<WidthSeries> width_threshold_series(const std::vector<ResultRow>& rows) {
  // (moe, |V|, experts, top_k) -> d_model -> accuracies over seeds
  using Key = std::tuple<bool, double, double, double>;
  std::map<Key, std::map<double, std::vector<double>>> groups;
  for (const ResultRow& r : rows) {
    if (r.task != enum_name(TaskKind::two_hop) || !r.vertices || !r.d_model || !r.accuracy) continue;
    if (!(*r.vertices > 0) || std::isnan(*r.accuracy)) continue;
    const bool moe = r.ffn == "moe";
    const Key key{moe, *r.vertices, moe ? r.experts.value_or(0) : 0, moe ? r.top_k.value_or(0) : 0};
    groups[key][*r.d_model].push_back(*r.accuracy);
  }
  std::vector<WidthSeries> out;
  for (const auto& [key, by_width] : groups) {
    WidthSeries series;
    std::tie(series.moe, series.vertices, series.experts, series.top_k) = key;
    for (const auto& [d_model, values] : by_width) {
      double sum = 0;
      for (double v : values) sum += v;
      series.points.push_back({d_model, d_model / series.vertices, sum / static_cast<double>(values.size()),
                               *std::min_element(values.begin(), values.end()),
                               *std::max_element(values.begin(), values.end()),
                               static_cast<int>(values.size())});
    }
    out.push_back(std::move(series));
  }
  return out;
}

std::vector<std::string> render_width_threshold_plot(const fs::path& dir,
                                                     const std::vector<WidthSeries>& series) {
  if (series.empty()) return {};
  using namespace gnuplot;
  const fs::path work = start_work(dir);
  const Layout layout{1, 2};
  std::pair<double, double> range{1e300, 0};
  for (const WidthSeries& s : series) {
    for (const auto& p : s.points)
      range = {std::min(range.first, p.width_ratio), std::max(range.second, p.width_ratio)};
  }
  std::ostringstream script;
  // The key bottom right: accuracy starts near chance (50%) at narrow widths and rises to the right.
  script << "set datafile missing 'nan'\nset grid\nset key bottom right box opaque font ',8'\nset pointsize "
            "1.2\n";
  for (const auto& [terminal, output] : outputs(dir, "width_threshold", layout)) {
    script << terminal << "\nset output " << gp_string(output + ".tmp") << "\n";
    script << "set multiplot layout 1,2 title "
           << gp_string(
                  "Two-hop: held-out accuracy against width relative to the vertex set (mean over seeds, "
                  "bars: min-max)")
           << "\n";
    for (const bool moe : {false, true}) {
      std::vector<std::string> plots;
      for (std::size_t i = 0; i < series.size(); ++i) {
        if (series[i].moe != moe) continue;
        const fs::path data = work / fmt::format("width_{}.dat", i);
        std::ofstream out(data);
        for (const auto& p : series[i].points)
          out << fmt::format("{} {} {} {}\n", p.width_ratio, 100 * p.mean, 100 * p.min, 100 * p.max);
        plots.push_back(fmt::format("{} using 1:2:3:4 with yerrorlines lw 1.5 title {}",
                                    gp_string(data.string()), gp_string(series[i].title())));
      }
      // d / |V| spans powers of two: a log2 axis with a tic at each.
      script << "set logscale x 2\nset xrange [" << range.first / 1.3 << ":" << range.second * 1.3
             << "]\nset xtics 2\nset format x '%g'\nset yrange [0:105]\n";
      script << "set title " << gp_string(moe ? "MoE" : "dense") << "\n";
      script << "set xlabel 'd_model / |V|'\nset ylabel "
             << gp_string(std::string(accuracy_label(TaskKind::two_hop))) << "\n";
      if (plots.empty()) {
        script << "set label 1 " << gp_string(moe ? "no MoE runs" : "no dense runs")
               << " at graph 0.5, 0.5 center\nplot NaN notitle\nunset label 1\n";
      } else {
        // Half the questions have no shared middle: always answering <no> scores 50%.
        script << "plot 50 with lines dt 2 lc rgb 'gray50' title 'chance (always <no>)'";
        for (const std::string& plot : plots) script << ", \\\n     " << plot;
        script << "\n";
      }
    }
    script << "unset multiplot\nset output\n";
  }
  return finish(dir, work, script.str(), {"width_threshold"});
}

}  // namespace lab
