// `lab fit RESULTS --law fine-grained|dense|power`: scaling-law fits of the runs in a results.csv
// (results/fit.h), with bootstrap intervals, the error on held-out runs and, for loss laws, the
// compute-optimal model for a FLOP budget.
#include <cmath>
#include <filesystem>
#include <iostream>
#include <set>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/error.h"
#include "results/fit.h"
#include "results/plots.h"
#include "results/report.h"

namespace lab {
namespace {

namespace fs = std::filesystem;

double field(const std::map<std::string, std::string>& row, const std::string& column, const fs::path& file) {
  auto it = row.find(column);
  const std::string id = row.contains("run_id") ? row.at("run_id") : "?";
  if (it == row.end())
    fail("{}: no column '{}' (is it a results.csv written by `lab report`?)", file.string(), column);
  if (it->second.empty())
    fail("{}: run {} has no {} (not probed, or another task's run: filter with --task)", file.string(), id,
         column);
  try {
    return std::stod(it->second);
  } catch (const std::exception&) {
    fail("{}: run {} has a {} that is not a number: '{}'", file.string(), id, column, it->second);
  }
}

}  // namespace

Command add_fit_command(CLI::App& app, const GlobalOptions& /*global*/) {
  CLI::App* cmd = app.add_subcommand(
      "fit",
      "Fit a scaling law to finished runs: the fine-grained MoE law L(N, D, G), the dense law L(N, D), or a "
      "power law of phone-book capacity against parameters");
  struct Options {
    std::string results;
    std::string law = "fine-grained";
    std::string task;
    std::string x = "total";
    FitOptions fit;
    double optimal = 0;
    int layers = 12;
    double expansion = 8;
    bool no_plots = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("RESULTS", o->results, "A results.csv, or the directory `lab report` wrote it into")
      ->required();
  cmd->add_option("--law", o->law,
                  "fine-grained: L = c + (g/G^gamma + a) N^-alpha + b D^-beta (N non-embedding parameters, D "
                  "tokens, G granularity; final held-out loss); dense: the same without G; power: memorized "
                  "phone-book entries = k x^p, x = --x parameters")
      ->check(CLI::IsMember({"fine-grained", "dense", "power"}))
      ->capture_default_str();
  cmd->add_option("--task", o->task, "Only the runs of this task (needed when the results mix tasks)");
  cmd->add_option("--x", o->x, "power law: total or active parameters")
      ->check(CLI::IsMember({"total", "active"}))
      ->capture_default_str();
  cmd->add_option("--holdout", o->fit.holdout,
                  "Share of the runs, the largest compute, held out to score the fit")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();
  cmd->add_option("--bootstrap", o->fit.bootstrap, "Bootstrap resamples for the 95% intervals (0: none)")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  cmd->add_option("--optimal", o->optimal, "Print the compute-optimal (N, D, G) for this many training FLOPs")
      ->option_text("FLOPS");
  cmd->add_option("--layers", o->layers, "--optimal: layers assumed for the routing cost")
      ->capture_default_str();
  cmd->add_option("--expansion", o->expansion, "--optimal: MoE expansion E assumed for the routing cost")
      ->capture_default_str();
  cmd->add_flag("--no-plots", o->no_plots, "Do not draw fit_*.png / .svg next to the results");

  return {cmd, [o] {
            fs::path file = o->results;
            if (fs::is_directory(file)) file /= "results.csv";
            const Law law = parse_law(o->law);
            std::vector<FitPoint> points;
            std::set<std::string> tasks;
            for (const auto& row : read_results_csv(file)) {
              if (!o->task.empty() && row.count("task") && row.at("task") != o->task) continue;
              if (row.count("task")) tasks.insert(row.at("task"));
              FitPoint p;
              p.id = row.count("run_id") ? row.at("run_id") : "?";
              if (law == Law::power) {
                p.n = field(row, o->x == "total" ? "total_params" : "active_params", file);
                p.y = field(row, "memorized_entries", file);
              } else {
                p.n = field(row, "non_embedding_params", file);
                p.d = field(row, "tokens", file);
                const std::string g = row.count("granularity") ? row.at("granularity") : "";
                p.g = g.empty() || g == "0" ? 1.0 : std::stod(g);
                p.y = field(row, "eval_loss", file);
              }
              points.push_back(p);
            }
            if (tasks.size() > 1) {
              std::string list;
              for (const auto& t : tasks) list += (list.empty() ? "" : ", ") + t;
              fail("{}: the runs mix tasks ({}); choose one with --task", file.string(), list);
            }
            if (points.empty())
              fail("{}: no runs{}", file.string(), o->task.empty() ? "" : " of task " + o->task);
            FitResult r = fit_law(law, points, o->fit);

            std::cout << fmt::format("{} law fitted to {} runs ({} held out), best of {} starting points\n",
                                     to_string(law), r.fitted, r.held_out, r.starts);
            for (const Coefficient& c : r.coefficients) {
              std::cout << fmt::format("  {:<6} {:>12.5g}", c.name, c.value);
              if (o->fit.bootstrap > 0) std::cout << fmt::format("   95% [{:.5g}, {:.5g}]", c.low, c.high);
              std::cout << "\n";
            }
            std::cout << fmt::format(
                "  RMSE {:.4g} on the fitted runs, {} on the held-out runs\n", r.rmse_fit,
                std::isnan(r.rmse_holdout) ? "n/a" : fmt::format("{:.4g}", r.rmse_holdout));
            for (const std::string& w : r.warnings) std::cout << "warning: " << w << "\n";
            if (o->optimal > 0) {
              OptimalModel m = optimal_model(law, r.theta, o->optimal, o->layers, o->expansion);
              std::cout << fmt::format(
                  "compute-optimal for {:.3g} FLOPs ({} layers, E = {}, G searched over 1..128): N = {:.3g} "
                  "non-embedding parameters, D = {:.3g} tokens, G = {:.0f}, predicted loss {:.4f}\n",
                  o->optimal, o->layers, o->expansion, m.n, m.d, m.g, m.loss);
            }
            if (!o->no_plots) {
              for (const std::string& note : render_fit_plots(file.parent_path() / "plots", law, r, points)) {
                std::cout << "note: " << note << "\n";
              }
            }
          }};
}

}  // namespace lab
