#include "results/report.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/run_files.h"
#include "results/plots.h"
#include "results/report_table.h"
#include "results/result_columns.h"
#include "results/results_csv.h"
#include "results/results_database.h"
#include "results/run_reader.h"
#include "results/training_plots.h"
#include "results/width_threshold.h"

namespace lab {
namespace fs = std::filesystem;

ReportSummary build_report(const fs::path& dir, const ReportOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    fail("{}: not a directory (give the output directory of `lab run`, or any directory of runs)",
         dir.string());
  ReportSummary summary;
  std::vector<ResultRow> rows;
  std::map<std::string, std::vector<CurvePoint>> curves;
  std::map<std::string, std::vector<RouterPoint>> router_curves_by_run;
  std::set<std::string> seen;
  for (const fs::path& run_dir : find_runs(dir)) {
    std::string note;
    auto run = read_run(run_dir, note);
    if (!run) {
      summary.notes.push_back(note);
      continue;
    }
    ResultRow& row = run->row;
    if (!seen.insert(row.run_id).second) {
      summary.notes.push_back(
          fmt::format("{}: skipped, another run has the same id {}", run_dir.string(), row.run_id));
      continue;
    }
    // Relative to DIR, so the CSV is the same wherever the runs are copied to.
    row.run_dir = run_dir.lexically_relative(dir).lexically_normal().string();
    curves[row.run_id] = std::move(run->curve);
    if (!run->router_curve.empty()) router_curves_by_run[row.run_id] = std::move(run->router_curve);
    rows.push_back(std::move(row));
  }

  ResultsDatabase db(dir / "results.sqlite");
  db.exec("BEGIN IMMEDIATE");
  try {
    for (const ResultRow& r : rows) {
      std::vector<std::string> before = db.stored(r.run_id);
      std::vector<std::string> after;
      for (std::size_t i = 0; i < result_column_table().size(); ++i) after.push_back(result_value(r, i));
      if (before == after) {
        ++summary.unchanged;
        continue;
      }
      (before.empty() ? summary.added : summary.updated) += 1;
      db.upsert(r, curves[r.run_id]);
    }
    for (const std::string& id : db.run_ids()) {
      if (!seen.contains(id)) {
        db.remove(id);
        summary.notes.push_back(fmt::format("{}: removed from the database, its run directory is gone", id));
      }
    }
    db.exec("COMMIT");
  } catch (...) {
    db.exec("ROLLBACK");
    throw;
  }

  std::sort(rows.begin(), rows.end(), row_order);
  write_csv(dir / "results.csv", rows);
  std::vector<RunCurve> run_curves;
  for (const ResultRow& r : rows) run_curves.push_back({&r, curves[r.run_id]});
  const std::vector<GranularityRow> granularity = granularity_wall_clock(run_curves);
  if (granularity.empty())
    fs::remove(dir / "granularity.csv", ec);  // no stale table from runs that are gone
  else
    write_granularity_csv(dir / "granularity.csv", granularity);
  if (options.plots && !rows.empty()) {
    for (std::string& note : render_plots(dir / "plots", rows, run_curves))
      summary.notes.push_back(std::move(note));
    for (std::string& note : render_granularity_plots(dir / "plots", granularity, run_curves))
      summary.notes.push_back(std::move(note));
    for (std::string& note : render_width_threshold_plot(dir / "plots", width_threshold_series(rows)))
      summary.notes.push_back(std::move(note));
    for (std::string& note : render_accuracy_curves(dir / "plots", run_curves))
      summary.notes.push_back(std::move(note));
    std::vector<RouterCurve> router_curves;
    for (const ResultRow& r : rows) {
      if (r.ffn == "moe") router_curves.push_back({&r, std::move(router_curves_by_run[r.run_id])});
    }
    for (std::string& note : render_router_plots(dir / "plots", router_curves))
      summary.notes.push_back(std::move(note));
  }
  if (!options.quiet) {
    if (!rows.empty()) print_table(rows);
    if (!granularity.empty())
      std::cout << "\nwall-clock by granularity:\n" << format_granularity_table(granularity);
    for (const std::string& note : summary.notes) std::cout << "note: " << note << "\n";
    std::cout << fmt::format("{} runs: {} added, {} updated, {} unchanged -> {}, {}{}\n", rows.size(),
                             summary.added, summary.updated, summary.unchanged,
                             (dir / "results.sqlite").string(), (dir / "results.csv").string(),
                             options.plots && !rows.empty() ? ", " + (dir / "plots").string() + "/" : "");
    if (!granularity.empty())
      std::cout << "granularity table -> " << (dir / "granularity.csv").string() << "\n";
  }
  summary.rows = std::move(rows);
  return summary;
}

}  // namespace lab
