#include "results/training_plots.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "results/gnuplot.h"
#include "results/plots.h"
#include "tasks/task_kind.h"

namespace lab {
namespace fs = std::filesystem;
using namespace gnuplot;
namespace {

// Tokens at each point: a probe line has none of its own when no training line shares its step; the
// run's tokens per step (from its last training line) stands in.
double tokens_at(const CurvePoint& point, double tokens_per_step) {
  return std::isnan(point.tokens) ? point.step * tokens_per_step : point.tokens;
}

// Training tokens on an x axis in plain numbers: thousands or millions, named in the label.
struct TokenAxis {
  double divisor;
  std::string label;
};
TokenAxis token_axis(double max_tokens) {
  if (max_tokens >= 1e6) return {1e6, "training tokens (millions)"};
  if (max_tokens >= 1e3) return {1e3, "training tokens (thousands)"};
  return {1, "training tokens"};
}

}  // namespace

std::vector<std::string> render_accuracy_curves(const fs::path& dir, const std::vector<RunCurve>& curves) {
  std::vector<const RunCurve*> probed;
  std::vector<std::string> panels;
  for (const RunCurve& c : curves) {
    if (std::none_of(c.points.begin(), c.points.end(),
                     [](const CurvePoint& p) { return !std::isnan(p.probe_accuracy); }))
      continue;
    probed.push_back(&c);
    if (std::find(panels.begin(), panels.end(), c.row->data_label) == panels.end())
      panels.push_back(c.row->data_label);
  }
  if (probed.empty()) return {};
  const fs::path work = start_work(dir);
  std::ostringstream body;
  for (std::size_t p = 0; p < panels.size(); ++p) {
    std::vector<std::string> plots;
    std::string task;
    bool dense_titled = false, moe_titled = false;
    for (std::size_t i = 0; i < probed.size(); ++i) {
      const RunCurve& c = *probed[i];
      if (c.row->data_label != panels[p]) continue;
      task = c.row->task;
      double tokens_per_step = 0;
      for (const CurvePoint& point : c.points)
        if (!std::isnan(point.tokens) && point.step > 0) tokens_per_step = point.tokens / point.step;
      const fs::path data = work / fmt::format("accuracy_{}_{}.dat", p, i);
      std::ofstream out(data);
      for (const CurvePoint& point : c.points) {
        if (!std::isnan(point.probe_accuracy))
          out << fmt::format("{} {}\n", tokens_at(point, tokens_per_step), 100 * point.probe_accuracy);
      }
      // One legend entry per kind; runs differ by shade of line only in the data.
      const bool moe = c.row->ffn == "moe";
      bool& titled = moe ? moe_titled : dense_titled;
      const std::string title = titled ? "notitle" : "title " + gp_string(moe ? "MoE runs" : "dense runs");
      titled = true;
      plots.push_back(fmt::format("{} using 1:2 with linespoints lw 1.2 pt 7 ps 0.5 lc rgb '{}' {}",
                                  gp_string(data.string()), moe ? "#c0392b" : "#2e6da4", title));
    }
    const std::optional<TaskKind> kind = enum_from_name<TaskKind>(task);
    body << "set title " << gp_string(panels[p]) << "\nset xlabel 'training tokens'\nset ylabel "
         << gp_string(kind ? std::string(accuracy_label(*kind)) : task + " (%)") << "\n"
         << plot_line(plots);
  }
  const Layout layout = layout_for(panels.size());
  std::ostringstream script;
  script << "set datafile missing 'nan'\nset grid\nset key bottom right box opaque font ',9'\n"
            "set format x '%.1s%c'\nset yrange [0:100]\n";
  for (const auto& [terminal, output] : outputs(dir, "accuracy_curves", layout)) {
    script << terminal << "\nset output " << gp_string(output + ".tmp") << "\n"
           << fmt::format(
                  "set multiplot layout {},{} title 'Held-out accuracy over training (periodic probes)'\n",
                  layout.rows, layout.cols)
           << body.str() << "unset multiplot\nset output\n";
  }
  return finish(dir, work, script.str(), {"accuracy_curves"});
}

std::vector<std::string> render_router_plots(const fs::path& dir, const std::vector<RouterCurve>& curves) {
  std::vector<std::string> notes;
  const fs::path router_dir = dir / "router";
  for (const RouterCurve& c : curves) {
    if (c.points.empty() || c.points.front().expert_share.empty()) continue;
    const std::size_t layers = c.points.front().expert_share.size();
    const std::size_t experts = c.points.front().expert_share.front().size();
    std::vector<const RouterPoint*> windows;  // those of the first window's shape (all, for a run's lines)
    for (const RouterPoint& point : c.points) {
      if (point.expert_share.size() == layers && point.expert_share.back().size() == experts &&
          point.imbalance.size() == layers)
        windows.push_back(&point);
    }
    if (windows.size() < 2) {
      notes.push_back(
          fmt::format("{}: one router window only (steps <= log_every): no router plot", c.row->run_id));
      continue;
    }
    const fs::path work = start_work(router_dir);
    const TokenAxis axis = token_axis(windows.back()->tokens);
    // The heatmap: gnuplot's `image` needs a regular grid, so x is the window's index (labelled with
    // its tokens) and y the row layer * (experts + 1) + expert, with an empty (NaN) row between layers.
    const fs::path shares = work / "shares.dat";
    const fs::path imbalance = work / "imbalance.dat";
    {
      std::ofstream out(shares), lines(imbalance);
      for (std::size_t i = 0; i < windows.size(); ++i) {
        const RouterPoint& point = *windows[i];
        lines << point.tokens;
        for (std::size_t l = 0; l < layers; ++l) {
          lines << ' ' << point.imbalance[l];
          for (std::size_t e = 0; e <= experts; ++e) {
            const double share = e < experts ? point.expert_share[l][e] : std::nan("");
            out << fmt::format("{} {} {}\n", i, l * (experts + 1) + e, share);
          }
        }
        lines << '\n';
        out << '\n';
      }
    }
    std::ostringstream body;
    body << "set title 'expert share of each layer''s rows (uniform: " << fmt::format("{:.3g}", 1.0 / experts)
         << ")'\nset xlabel " << gp_string(axis.label)
         << "\nset ylabel 'experts of each layer'\n"
            "set palette defined (0 'white', 1 '#f39c12', 2 '#c0392b')\nset cbrange [0:*]\n"
            "set xrange [-0.5:"
         << windows.size() - 0.5 << "]\nset yrange [-0.5:" << layers * (experts + 1) - 1.5
         << "]\nset xtics (";
    const std::size_t step = std::max<std::size_t>(1, windows.size() / 5);
    for (std::size_t i = 0; i < windows.size(); i += step) {
      body << (i ? ", " : "") << fmt::format("'{:.3g}' {}", windows[i]->tokens / axis.divisor, i);
    }
    body << ")\nset ytics (";
    for (std::size_t l = 0; l < layers; ++l) {
      body << (l ? ", " : "")
           << fmt::format("'layer {}' {}", l, static_cast<double>(l * (experts + 1)) + (experts - 1) / 2.0);
    }
    body << ")\nplot " << gp_string(shares.string()) << " using 1:2:3 with image notitle\n";
    body << "unset ytics\nset ytics autofreq\nset xtics autofreq\nset format x '%g'\nset autoscale xy\n"
            "set xrange [*:*]\nset yrange [1:*]\nset title 'load imbalance (max / mean rows of a layer; 1 = "
            "even)'\nset ylabel 'max / mean'\nset key top right box opaque\n";
    std::vector<std::string> plots;
    for (std::size_t l = 0; l < layers; ++l) {
      plots.push_back(fmt::format("{} using ($1/{}):{} with lines lw 1.5 title 'layer {}'",
                                  gp_string(imbalance.string()), axis.divisor, l + 2, l));
    }
    body << plot_line(plots);
    const std::string name = c.row->run_id;
    std::ostringstream script;
    script << "set grid\n";
    for (const auto& [terminal, output] : outputs(router_dir, name, Layout{1, 2})) {
      script << terminal << "\nset output " << gp_string(output + ".tmp") << "\n"
             << "set multiplot layout 1,2 title "
             << gp_string("Routers of " + run_label(*c.row) + ": " + name) << "\n"
             << body.str() << "unset multiplot\nset output\n";
    }
    for (std::string& note : finish(router_dir, work, script.str(), {name})) notes.push_back(std::move(note));
  }
  return notes;
}

}  // namespace lab
