#pragma once
// Results of many runs, for `lab report DIR` and the end of `lab run`:
//
//   DIR/results.sqlite   SQLite (WAL): table `runs` (one row per probed run: its parameters, total and
//                        active parameters, training FLOPs, wall time, every probe metric) and table
//                        `curves` (its metrics.jsonl: step, tokens, loss, held-out loss, seconds)
//   DIR/results.csv      the `runs` table, sorted, for pandas / R / a spreadsheet
//   DIR/plots/           accuracy_vs_total and accuracy_vs_active (one panel per dataset, one series
//                        per model family, mean over seeds with min-max bars, log x), loss_curves,
//                        accuracy_curves (the periodic probes over training, --probe-every) and
//                        router/RUN_ID (an MoE run's expert shares and imbalance over training),
//                        each as PNG and SVG, rendered by gnuplot; granularity_wall_clock when the
//                        runs vary the MoE granularity; width_threshold for two-hop runs (accuracy
//                        against d_model / |V|, results/width_threshold.h)
//   DIR/granularity.csv  when the runs vary G: throughput and time to a held-out loss per G
//                        (results/granularity.h)
//
// The database is rebuilt idempotently from the run directories: running it again adds nothing
// twice; a run without probe.json (still training, or killed) is skipped with a note.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lab {

// One probed run, as stored. Missing values (a metric another task has) are nullopt.
struct ResultRow {
  std::string run_id, run_dir, preset, task, data_label, family, ffn, router;
  std::optional<double> d_model, layers, heads, d_ff, experts, top_k, expert_width, granularity, seed, steps,
      tokens, total_params, active_params, non_embedding_params, train_flops, wall_seconds, train_loss,
      eval_loss, accuracy, recall_exact, recall_per_digit, control_exact, memorized_entries,
      bits_per_param_total, bits_per_param_active, path_valid, path_exact, path_first_hop, balanced_accuracy,
      vertices,  // two-hop: |V|
      // graph tasks: the share of probed examples in each error class (probes/probe.h)
      error_malformed, error_wrong_ends, error_too_short, error_too_long, error_not_a_path, error_false_yes,
      error_false_no, error_wrong_middle, error_missed_middle, error_invented_middle,
      // MoE: the routers in the last metrics window of training (trainer/router_load.h): the largest
      // max / mean load of a layer, the experts that got no token summed over layers, the mean entropy
      router_imbalance, router_idle_experts, router_entropy;
};

// One step of a run's metrics.jsonl: what its training line and held-out line logged (NaN if absent).
// `seconds` is the cumulative training wall time at that step, periodic held-out evaluations included.
// `probe_accuracy` is the periodic probe's held-out accuracy (or recall) at that step (--probe-every).
struct CurvePoint {
  double step, tokens, loss, eval_loss, seconds, probe_accuracy;
};

// One metrics window of an MoE's routers: per layer, each expert's share of the rows and max / mean.
struct RouterPoint {
  double step, tokens;
  std::vector<std::vector<double>> expert_share;  // [layer][expert]
  std::vector<double> imbalance;                  // [layer]
};

// The router windows of metrics.jsonl's lines, in step order; empty for a dense run.
std::vector<RouterPoint> read_router_curve(const std::vector<nlohmann::json>& metrics_lines);

// metrics.jsonl's lines -> one point per logged step, in step order.
std::vector<CurvePoint> read_curve(const std::vector<nlohmann::json>& metrics_lines);

// A run's row and its curve, for the plots and the granularity analysis.
struct RunCurve {
  const ResultRow* row;
  std::vector<CurvePoint> points;
};

// Column names, in CSV order; value(row, i) is column i as text ("" when missing).
const std::vector<std::string>& result_columns();
std::string result_value(const ResultRow& row, std::size_t column);

// The rows of a results.csv written by build_report (or any CSV with a header line), as column ->
// text. lab::Error naming the file for a missing file or a row with the wrong number of fields.
std::vector<std::map<std::string, std::string>> read_results_csv(const std::filesystem::path& file);

// One run as `lab report` reads it: its row, and the curves of its metrics.jsonl (read once).
struct RunRecord {
  ResultRow row;
  std::vector<CurvePoint> curve;          // one point per logged step; empty without metrics.jsonl
  std::vector<RouterPoint> router_curve;  // an MoE's router windows
};

// Reads one run directory (config.json, probe.json, metrics.jsonl, run.json if the runner wrote it);
// nullopt with `note` set if it is not probed yet, unfinished or damaged.
std::optional<RunRecord> read_run(const std::filesystem::path& run_dir, std::string& note);

struct ReportOptions {
  bool plots = true;
  bool quiet = false;
};

struct ReportSummary {
  int added = 0, updated = 0, unchanged = 0;
  std::vector<std::string> notes;  // runs skipped, plots not drawn, and why
  std::vector<ResultRow> rows;     // every row of the database, in CSV order
};

// Finds every run directory under `dir` (a directory holding config.json, up to three levels
// down), updates DIR/results.sqlite, writes results.csv and the plots, prints a table unless quiet.
ReportSummary build_report(const std::filesystem::path& dir, const ReportOptions& options);

}  // namespace lab
