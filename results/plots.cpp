#include "results/plots.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <fmt/format.h>

#include "core/error.h"
#include "results/gnuplot.h"
#include "tasks/task_kind.h"

namespace lab {
namespace fs = std::filesystem;
using namespace gnuplot;  // the figures below are gnuplot scripts
namespace {

// A results database may hold tasks of a newer lab: their axis keeps the task's name.
std::string y_label(const std::string& task) {
  const std::optional<TaskKind> kind = enum_from_name<TaskKind>(task);
  return std::string(kind ? accuracy_label(*kind) : task);
}

struct Point {
  double total, active;
  std::vector<double> values;
};

}  // namespace

std::string run_label(const ResultRow& r) {
  std::string label = fmt::format("{} d{:.0f}", r.family, r.d_model.value_or(0));
  if (r.ffn == "moe") label += fmt::format(" {:.0f}x{:.0f}", r.experts.value_or(0), r.top_k.value_or(0));
  return label + fmt::format(" s{:.0f}", r.seed.value_or(0));
}

std::vector<std::string> render_plots(const fs::path& dir, const std::vector<ResultRow>& rows,
                                      const std::vector<RunCurve>& curves) {
  const fs::path work = start_work(dir);

  // Panels (datasets) and, within each, families in the rows' order.
  std::vector<std::string> panels;
  std::map<std::string, std::string> task_of;
  for (const ResultRow& r : rows) {
    if (std::find(panels.begin(), panels.end(), r.data_label) == panels.end()) panels.push_back(r.data_label);
    task_of[r.data_label] = r.task;
  }
  const Layout layout = layout_for(panels.size());
  std::ostringstream script;
  script << "set datafile missing 'nan'\nset grid\nset key top left box opaque\nset pointsize 1.2\n";

  std::pair<double, double> total_range{1e300, 0}, active_range{1e300, 0};
  for (const ResultRow& r : rows) {
    if (r.total_params)
      total_range = {std::min(total_range.first, *r.total_params),
                     std::max(total_range.second, *r.total_params)};
    if (r.active_params)
      active_range = {std::min(active_range.first, *r.active_params),
                      std::max(active_range.second, *r.active_params)};
  }
  for (const std::string x : {"total", "active"}) {
    for (const auto& [terminal, output] : outputs(dir, "accuracy_vs_" + x, layout)) {
      script << terminal << "\nset output " << gp_string(output + ".tmp") << "\n";
      script << fmt::format(
          "set multiplot layout {},{} title {}\n", layout.rows, layout.cols,
          gp_string(fmt::format("Accuracy against {} parameters (mean over seeds, bars: min-max)", x)));
      for (std::size_t p = 0; p < panels.size(); ++p) {
        // A series per family, split by training budget when the family has several in this panel.
        std::map<std::string, std::set<double>> budgets;
        for (const ResultRow& r : rows)
          if (r.data_label == panels[p]) budgets[r.family].insert(r.steps.value_or(0));
        std::vector<std::string> families;
        std::map<std::string, std::vector<Point>> points;
        for (const ResultRow& r : rows) {
          if (r.data_label != panels[p] || !r.accuracy || !r.total_params || !r.active_params) continue;
          const std::string series = budgets[r.family].size() > 1
                                         ? fmt::format("{}, {:g} steps", r.family, r.steps.value_or(0))
                                         : r.family;
          if (!points.contains(series)) families.push_back(series);
          auto& list = points[series];
          auto it = std::find_if(list.begin(), list.end(), [&](const Point& pt) {
            return pt.total == *r.total_params && pt.active == *r.active_params;
          });
          if (it == list.end()) it = list.insert(list.end(), Point{*r.total_params, *r.active_params, {}});
          it->values.push_back(100 * *r.accuracy);
        }
        std::vector<std::string> plots;
        for (std::size_t f = 0; f < families.size(); ++f) {
          auto list = points[families[f]];
          std::sort(list.begin(), list.end(), [&](const Point& a, const Point& b) {
            return x == "total" ? std::pair(a.total, a.active) < std::pair(b.total, b.active)
                                : std::pair(a.active, a.total) < std::pair(b.active, b.total);
          });
          const fs::path data = work / fmt::format("acc_{}_{}_{}.dat", x, p, f);
          std::ofstream out(data);
          for (const Point& pt : list) {
            double mean = 0;
            for (double v : pt.values) mean += v / static_cast<double>(pt.values.size());
            out << fmt::format("{} {} {} {}\n", x == "total" ? pt.total : pt.active, mean,
                               *std::min_element(pt.values.begin(), pt.values.end()),
                               *std::max_element(pt.values.begin(), pt.values.end()));
          }
          plots.push_back(fmt::format("{} using 1:2:3:4 with yerrorlines lw 1.5 title {}",
                                      gp_string(data.string()), gp_string(families[f])));
        }
        script << "set logscale x\n"
               << log_tics(x == "total" ? total_range : active_range) << "set yrange [0:105]\n";
        script << "set title " << gp_string(panels[p]) << "\n";
        script << "set xlabel "
               << gp_string(x == "total" ? "total parameters" : "active parameters per token") << "\n";
        script << "set ylabel " << gp_string(y_label(task_of[panels[p]])) << "\n";
        if (plots.empty()) {
          script << "set label 1 'no accuracy' at graph 0.5, 0.5 center\nplot NaN notitle\nunset label 1\n";
        } else {
          script << plot_line(plots);
        }
      }
      script << "unset multiplot\nset output\n";
    }
  }

  // Loss curves: one line per run, training loss against tokens seen.
  for (const auto& [terminal, output] : outputs(dir, "loss_curves", layout)) {
    script << terminal << "\nset output " << gp_string(output + ".tmp") << "\n";
    script << fmt::format("set multiplot layout {},{} title 'Training loss'\n", layout.rows, layout.cols);
    for (std::size_t p = 0; p < panels.size(); ++p) {
      std::vector<std::string> plots;
      std::size_t count = 0;
      for (const RunCurve& c : curves) {
        if (c.row->data_label != panels[p] || c.points.empty()) continue;
        const fs::path data = work / fmt::format("loss_{}_{}.dat", p, count++);
        std::ofstream out(data);
        for (const auto& pt : c.points) {
          if (!std::isnan(pt.tokens) && !std::isnan(pt.loss) && pt.loss > 0)
            out << fmt::format("{} {}\n", pt.tokens, pt.loss);
        }
        const ResultRow& r = *c.row;
        plots.push_back(fmt::format("{} using 1:2 with lines lw 1.2 title {}", gp_string(data.string()),
                                    gp_string(run_label(r))));
      }
      script << "unset logscale x\nset logscale y\nset xtics autofreq\nset xrange [*:*]\nset format x "
                "'%.0s%c'\nset autoscale y\nset yrange [*:*]\n";
      script << (plots.size() > 12 ? "unset key\n" : "set key top right box opaque font ',8'\n");
      script << "set title " << gp_string(panels[p])
             << "\nset xlabel 'training tokens'\nset ylabel 'loss (nats/token)'\n";
      if (plots.empty()) {
        script << "set label 1 'no curves' at graph 0.5, 0.5 center\nplot NaN notitle\nunset label 1\n";
      } else {
        script << plot_line(plots);
      }
      script << "unset logscale y\nset key top left box opaque font ',10'\n";
    }
    script << "unset multiplot\nset output\n";
  }

  return finish(dir, work, script.str(), {"accuracy_vs_total", "accuracy_vs_active", "loss_curves"});
}

std::vector<std::string> render_fit_plots(const fs::path& dir, Law law, const FitResult& fit,
                                          const std::vector<FitPoint>& points) {
  const fs::path work = start_work(dir);
  const std::string name = "fit_" + to_string(law);
  const bool power = law == Law::power;
  const std::string y_name = power ? "phone-book entries memorized" : "held-out loss";
  std::ostringstream script;
  script << "set datafile missing 'nan'\nset grid\nset key top left box opaque\nset pointsize 1.2\n";

  // Observed against predicted.
  const fs::path observed = work / "observed.dat";
  {
    std::ofstream out(observed);
    for (const FitPoint& p : points) out << fmt::format("{} {}\n", predict(law, fit.theta, p), p.y);
  }
  for (const auto& [terminal, output] : outputs(dir, name + "_observed", Layout{1, 1})) {
    script << terminal << "\nset output " << gp_string(output + ".tmp") << "\n";
    script << "set logscale xy\nset title "
           << gp_string(
                  fmt::format("{} law: observed against predicted ({} runs)", to_string(law), points.size()))
           << "\n";
    script << "set xlabel " << gp_string("predicted " + y_name) << "\nset ylabel "
           << gp_string("observed " + y_name) << "\n";
    script << "plot " << gp_string(observed.string())
           << " using 1:2 with points pt 7 title 'runs', x with lines dt 2 title 'y = x'\n";
    script << "unset logscale xy\nset output\n";
  }

  // Value against N per G, with the law through each G's runs at their median D.
  std::map<double, std::vector<const FitPoint*>> by_g;
  for (const FitPoint& p : points) by_g[power ? 1.0 : p.g].push_back(&p);
  std::vector<std::string> plots;
  std::size_t series = 0;
  for (const auto& [g, group] : by_g) {
    const fs::path data = work / fmt::format("g{}.dat", series);
    const fs::path curve = work / fmt::format("g{}_law.dat", series);
    std::vector<double> ns, ds;
    {
      std::ofstream out(data);
      for (const FitPoint* p : group) {
        out << fmt::format("{} {}\n", p->n, p->y);
        ns.push_back(p->n);
        ds.push_back(p->d);
      }
    }
    std::sort(ds.begin(), ds.end());
    const double d_median = ds[ds.size() / 2];
    const auto [lo, hi] = std::minmax_element(ns.begin(), ns.end());
    {
      std::ofstream out(curve);
      for (int i = 0; i <= 100; ++i) {
        const double n = *lo * std::pow(*hi / *lo, i / 100.0);
        out << fmt::format("{} {}\n", n, predict(law, fit.theta, FitPoint{"", n, d_median, g, 1}));
      }
    }
    const std::string label = power ? "runs" : fmt::format("G = {:g}", g);
    plots.push_back(fmt::format("{} using 1:2 with points pt 7 lc {} title {}", gp_string(data.string()),
                                series + 1, gp_string(label)));
    plots.push_back(
        fmt::format("{} using 1:2 with lines lc {} lw 1.5 title {}", gp_string(curve.string()), series + 1,
                    gp_string(power ? "fitted law" : fmt::format("law at D = {:.3g}", d_median))));
    ++series;
  }
  for (const auto& [terminal, output] : outputs(dir, name + "_curves", Layout{1, 1})) {
    script << terminal << "\nset output " << gp_string(output + ".tmp") << "\n";
    script << "set logscale x\nset format x '%.0s%c'\nset key outside right top box opaque\n"
           << (power ? "set logscale y\n" : "unset logscale y\n");
    script << "set title " << gp_string(fmt::format("{} law fitted to {} runs", to_string(law), fit.fitted))
           << "\n";
    script << "set xlabel " << gp_string(power ? "parameters" : "non-embedding parameters N")
           << "\nset ylabel " << gp_string(y_name) << "\n";
    script << plot_line(plots) << "unset logscale xy\nset output\n";
  }
  return finish(dir, work, script.str(), {name + "_observed", name + "_curves"});
}

std::vector<std::string> render_granularity_plots(const fs::path& dir,
                                                  const std::vector<GranularityRow>& rows,
                                                  const std::vector<RunCurve>& curves) {
  if (rows.empty()) return {};
  const fs::path work = start_work(dir);
  std::vector<GranularityGroup> groups;
  std::map<GranularityGroup, double> target;
  for (const GranularityRow& r : rows) {
    if (std::find(groups.begin(), groups.end(), r.group()) == groups.end()) groups.push_back(r.group());
    target[r.group()] = r.target_loss;
  }
  // Curves only for each width's longest budget: the shorter ones repeat its start.
  std::vector<GranularityGroup> curve_groups;
  for (const GranularityGroup& g : groups) {
    const bool longest = std::none_of(groups.begin(), groups.end(), [&](const GranularityGroup& o) {
      return std::get<0>(o) == std::get<0>(g) && std::get<1>(o) == std::get<1>(g) &&
             std::get<2>(o) > std::get<2>(g);
    });
    if (longest) curve_groups.push_back(g);
  }
  const bool one_dataset = std::all_of(groups.begin(), groups.end(), [&](const GranularityGroup& g) {
    return std::get<0>(g) == std::get<0>(groups[0]);
  });
  auto group_title = [&](const GranularityGroup& g) {
    return fmt::format("{}d={:g}, {:g} steps", one_dataset ? "" : std::get<0>(g) + ", ", std::get<1>(g),
                       std::get<2>(g));
  };

  // The panels, with their data files, once; then the same panels for each terminal.
  std::ostringstream panels;
  // Throughput against G, one series per group.
  std::vector<std::string> plots;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const fs::path data = work / fmt::format("throughput_{}.dat", i);
    std::ofstream out(data);
    for (const GranularityRow& r : rows)
      if (r.group() == groups[i]) out << fmt::format("{} {}\n", r.granularity, r.tokens_per_s);
    plots.push_back(fmt::format("{} using 1:2 with linespoints lw 1.5 title {}", gp_string(data.string()),
                                gp_string(group_title(groups[i]))));
  }
  panels << "set logscale x 2\nset xtics autofreq\nset format x '%g'\nset xrange [*:*]\nset autoscale y\n"
            "set yrange [0:*]\nset key bottom left box opaque font ',9'\n"
            "set title 'Training throughput (mean over seeds)'\nset xlabel 'granularity G'\n"
            "set ylabel 'training tokens per second'\n"
         << plot_line(plots) << "unset logscale x\n";

  // Final held-out loss against training compute, one series per G (every width and budget).
  std::vector<double> all_g;
  for (const GranularityRow& r : rows)
    if (std::find(all_g.begin(), all_g.end(), r.granularity) == all_g.end()) all_g.push_back(r.granularity);
  std::sort(all_g.begin(), all_g.end());
  plots.clear();
  for (std::size_t i = 0; i < all_g.size(); ++i) {
    const fs::path data = work / fmt::format("compute_{}.dat", i);
    std::ofstream out(data);
    for (const RunCurve& c : curves) {
      const ResultRow& r = *c.row;
      if (r.granularity == all_g[i] && r.train_flops && r.eval_loss)
        out << fmt::format("{} {}\n", *r.train_flops, *r.eval_loss);
    }
    plots.push_back(fmt::format("{} using 1:2 with points pt 7 ps 0.9 lc {} title {}",
                                gp_string(data.string()), i + 1,
                                gp_string(fmt::format("G = {:g}", all_g[i]))));
  }
  panels
      << "set logscale x\nset format x '%.0s%c'\nset autoscale xy\nset xrange [*:*]\nset yrange [*:*]\n"
         "set key top right box opaque font ',9'\nset title 'Final held-out loss against training compute'\n"
         "set xlabel 'training FLOPs'\nset ylabel 'held-out loss (nats/token)'\n"
      << plot_line(plots) << "unset logscale x\n";

  // Held-out loss against wall time, one line per run, coloured by G, with the group's target.
  for (std::size_t p = 0; p < curve_groups.size(); ++p) {
    const GranularityGroup& key = curve_groups[p];
    std::vector<double> gs;
    for (const GranularityRow& r : rows)
      if (r.group() == key) gs.push_back(r.granularity);
    plots.clear();
    std::size_t count = 0;
    for (const RunCurve& c : curves) {
      const ResultRow& r = *c.row;
      if (!r.granularity || !r.d_model || !r.steps ||
          GranularityGroup{r.data_label, *r.d_model, *r.steps} != key)
        continue;
      const auto at = std::find(gs.begin(), gs.end(), *r.granularity);
      if (at == gs.end()) continue;
      const fs::path data = work / fmt::format("eval_{}_{}.dat", p, count++);
      std::ofstream out(data);
      for (const auto& [seconds, loss] : eval_loss_by_seconds(c.points))
        out << fmt::format("{} {}\n", seconds, loss);
      plots.push_back(fmt::format(
          "{} using 1:2 with linespoints lw 1.2 pt 7 ps 0.6 lc {} title {}", gp_string(data.string()),
          at - gs.begin() + 1, gp_string(fmt::format("G={:g} s{:.0f}", *r.granularity, r.seed.value_or(0)))));
    }
    plots.push_back(fmt::format("{:g} with lines dt 2 lc 'black' title 'target'", target[key]));
    panels << "set autoscale y\nset yrange [*:*]\nset xrange [0:*]\nset format x '%g'\n"
              "set key top right box opaque font ',8'\n"
           << "set title " << gp_string("Held-out loss, " + group_title(key))
           << "\nset xlabel 'training wall time (s)'\nset ylabel 'held-out loss (nats/token)'\n"
           << plot_line(plots);
  }

  std::ostringstream script;
  script << "set datafile missing 'nan'\nset grid\nset pointsize 1.2\n";
  const Layout layout = layout_for(2 + curve_groups.size());
  for (const auto& [terminal, output] : outputs(dir, "granularity_wall_clock", layout)) {
    script << terminal << "\nset output " << gp_string(output + ".tmp") << "\n";
    script << fmt::format("set multiplot layout {},{} title {}\n", layout.rows, layout.cols,
                          gp_string("Granularity in wall-clock time on this machine"));
    script << panels.str() << "unset multiplot\nset output\n";
  }
  return finish(dir, work, script.str(), {"granularity_wall_clock"});
}

}  // namespace lab
