#include "results/run_reader.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_file.h"
#include "core/run_files.h"
#include "results/report.h"
#include "results/result_columns.h"
#include "tasks/task_kind.h"

namespace lab {
namespace fs = std::filesystem;
namespace {

using Json = nlohmann::json;

std::optional<double> number(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  const double v = it->get<double>();
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

// The periodic probe's accuracy in metrics.jsonl (the probe's "accuracy" metric, prefixed).
const std::string kProbeAccuracy = std::string(run_files::metrics::kProbePrefix) + "accuracy";

// A metrics window's router array into the row's router columns (the last window read wins).
void read_final_router(const Json& layers, ResultRow& r) {
  namespace metric = run_files::metrics;
  if (!layers.is_array() || layers.empty()) return;
  double imbalance = 0, idle = 0, entropy = 0;
  for (const Json& layer : layers) {
    imbalance = std::max(imbalance, number(layer, metric::kRouterImbalance).value_or(0));
    idle += number(layer, metric::kRouterIdleExperts).value_or(0);
    entropy += number(layer, metric::kRouterEntropy).value_or(0);
  }
  r.router_imbalance = imbalance;
  r.router_idle_experts = idle;
  r.router_entropy = entropy / static_cast<double>(layers.size());
}

std::string text(const Json& j, const char* key, const std::string& fallback = "") {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// "phonebook, 10000 entries" / "shortest-path, 8-16 nodes, 100000 examples" / "two-hop, 16 vertices, ...".
std::string dataset_label(const std::string& task, const Json& p) {
  if (task == enum_name(TaskKind::phonebook))
    return fmt::format("phonebook, {} entries", p.value("entries", 0ULL));
  if (task == enum_name(TaskKind::two_hop)) {
    return fmt::format("two-hop, {} vertices, {} examples", p.value("vertices", 0),
                       p.contains("count") ? p.value("count", 0ULL) : p.value("train_count", 0ULL));
  }
  return fmt::format("{}, {}-{} nodes, {} examples", task, p.value("nodes_min", 0), p.value("nodes_max", 0),
                     p.contains("count") ? p.value("count", 0ULL) : p.value("train_count", 0ULL));
}

}  // namespace

std::vector<fs::path> find_runs(const fs::path& dir) {
  std::vector<fs::path> runs;
  std::error_code ec;
  if (fs::exists(dir / run_files::kConfig)) runs.push_back(dir);
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory(ec)) continue;
    const std::string name = it->path().filename().string();
    if (it.depth() >= 2 || name == run_files::kCheckpoints || name == "datasets" || name == "plots") {
      it.disable_recursion_pending();
    }
    if (fs::exists(it->path() / run_files::kConfig)) runs.push_back(it->path());
  }
  std::sort(runs.begin(), runs.end());
  return runs;
}

std::vector<CurvePoint> read_curve(const std::vector<Json>& metrics_lines) {
  std::map<std::int64_t, CurvePoint> by_step;
  const double nan = std::nan("");
  for (const Json& line : metrics_lines) {
    auto step = number(line, run_files::metrics::kStep);
    if (!step) continue;
    auto [it, inserted] =
        by_step.try_emplace(static_cast<std::int64_t>(*step), CurvePoint{*step, nan, nan, nan, nan, nan});
    if (auto t = number(line, "tokens")) it->second.tokens = *t;
    if (auto l = number(line, run_files::metrics::kLoss)) it->second.loss = *l;
    if (auto e = number(line, run_files::metrics::kEvalLoss)) it->second.eval_loss = *e;
    if (auto s = number(line, "seconds")) it->second.seconds = *s;
    if (auto a = number(line, kProbeAccuracy.c_str())) it->second.probe_accuracy = *a;
  }
  std::vector<CurvePoint> curve;
  for (auto& [step, point] : by_step) curve.push_back(point);
  return curve;
}

std::vector<RouterPoint> read_router_curve(const std::vector<Json>& metrics_lines) {
  namespace metric = run_files::metrics;
  std::vector<RouterPoint> curve;
  for (const Json& line : metrics_lines) {
    auto step = number(line, metric::kStep);
    auto tokens = number(line, metric::kTokens);
    if (!step || !tokens || !line.contains(metric::kRouter) || !line.at(metric::kRouter).is_array()) continue;
    RouterPoint point{*step, *tokens, {}, {}};
    try {
      for (const Json& layer : line.at(metric::kRouter)) {
        point.expert_share.push_back(layer.at(metric::kRouterExpertShare).get<std::vector<double>>());
        point.imbalance.push_back(layer.at(metric::kRouterImbalance).get<double>());
      }
    } catch (const Json::exception&) {
      continue;  // a line of another layout: not drawn
    }
    curve.push_back(std::move(point));
  }
  return curve;
}

std::optional<RunRecord> read_run(const fs::path& run_dir, std::string& note) {
  namespace cfg = run_files::config;
  namespace info_key = run_files::run_info;
  namespace metric = run_files::metrics;
  if (!fs::exists(run_dir / run_files::kProbe)) {
    note = fmt::format("{}: not probed yet (still training, interrupted, or run `lab probe {}`)",
                       run_dir.string(), run_dir.string());
    return std::nullopt;
  }
  // A file cut short (a crash while writing, a full disk) skips its run with a note, not the report.
  Json config, probe, info;
  try {
    config = read_json_file(run_dir / run_files::kConfig);
    probe = read_json_file(run_dir / run_files::kProbe);
    info = fs::exists(run_dir / run_files::kRunInfo) ? read_json_file(run_dir / run_files::kRunInfo)
                                                     : Json::object();
  } catch (const Error& e) {
    note = fmt::format("skipped: {}", e.what());
    return std::nullopt;
  }
  try {
    ResultRow r;
    const Json& model = config.at(cfg::kModel);
    const Json& resolved = model.at(cfg::kModelResolved);
    const Json& metrics = probe.at(run_files::probe::kMetrics);
    const Json& params = probe.at(run_files::probe::kParameters);
    r.run_dir = run_dir.lexically_normal().string();
    r.run_id = text(info, info_key::kRunId, run_dir.filename().string());
    r.preset = text(info, info_key::kPreset);
    r.task = probe.at(run_files::probe::kTask).get<std::string>();
    r.ffn = text(model, "ffn");
    r.router = r.ffn == "moe" ? text(model, "router") : "";
    r.family = text(info, info_key::kFamily, r.ffn);
    if (info.contains(info_key::kDataLabel)) {
      r.data_label = text(info, info_key::kDataLabel);
    } else {  // a run of plain `lab train`: the dataset's manifest, if it is still there
      const fs::path manifest =
          fs::path(config.at(cfg::kDataset).at(cfg::kDatasetDir).get<std::string>()) / "manifest.json";
      r.data_label =
          fs::exists(manifest) ? dataset_label(r.task, read_json_file(manifest).at("parameters")) : r.task;
    }
    r.d_model = number(model, "d_model");
    r.layers = number(model, "layers");
    r.heads = number(model, "heads");
    r.d_ff = number(resolved, "d_ff");
    if (r.ffn == "moe") {
      r.experts = number(resolved, "experts");
      r.top_k = number(resolved, "top_k");
      r.expert_width = number(resolved, "expert_width");
      r.granularity = number(model, "granularity");
    }
    r.seed = info.contains(info_key::kSeed) ? number(info, info_key::kSeed)
                                            : number(config.at(cfg::kTrain), "seed");
    r.total_params = number(params, "total");
    r.active_params = number(params, "active");
    r.non_embedding_params = number(params, "non_embedding");
    for (auto [field, key] : {std::pair{&ResultRow::accuracy, "accuracy"},
                              {&ResultRow::recall_exact, "recall_exact"},
                              {&ResultRow::recall_per_digit, "recall_per_digit"},
                              {&ResultRow::control_exact, "control_exact"},
                              {&ResultRow::memorized_entries, "memorized_entries"},
                              {&ResultRow::bits_per_param_total, "bits_per_param_total"},
                              {&ResultRow::bits_per_param_active, "bits_per_param_active"},
                              {&ResultRow::path_valid, "path_valid"},
                              {&ResultRow::path_exact, "path_exact"},
                              {&ResultRow::path_first_hop, "path_first_hop"},
                              {&ResultRow::balanced_accuracy, "balanced_accuracy"},
                              {&ResultRow::vertices, "vertices"}}) {
      r.*field = number(metrics, key);
    }
    // The phone book's errors stay in probe.json: digits, not classes.
    if (r.task != enum_name(TaskKind::phonebook)) {
      for (const ResultColumn& c : result_error_columns()) r.*c.value = number(metrics, c.name);
    }
    // The last training line and the last held-out loss of metrics.jsonl. The trainer ends every run
    // with a held-out loss at its last step: a file without one was cut short.
    std::optional<double> eval_step;
    std::vector<Json> lines;
    if (fs::exists(run_dir / run_files::kMetrics)) {
      try {
        lines = read_jsonl_file(run_dir / run_files::kMetrics);
      } catch (const Error& e) {
        note = fmt::format("skipped: {}", e.what());
        return std::nullopt;
      }
      for (const Json& line : lines) {
        if (line.contains(metric::kRouter)) read_final_router(line.at(metric::kRouter), r);
        if (line.contains(metric::kLoss)) {
          r.steps = number(line, metric::kStep);
          r.tokens = number(line, metric::kTokens);
          r.train_loss = number(line, metric::kLoss);
          if (auto s = number(line, metric::kSeconds)) r.wall_seconds = s;
        }
        if (line.contains(metric::kEvalLoss)) {
          r.eval_loss = number(line, metric::kEvalLoss);
          eval_step = number(line, metric::kStep);
        }
      }
      const std::optional<double> configured = number(config.at(cfg::kTrain), "steps");
      if (configured && *configured > 0 && r.steps.value_or(0) < *configured) {
        note = fmt::format(
            "{}: skipped, unfinished: metrics.jsonl ends at step {:.0f} of {:.0f} (still training, or "
            "stopped: `lab train --resume` or `lab run` continues it)",
            run_dir.string(), r.steps.value_or(0), *configured);
        return std::nullopt;
      }
      if (r.steps && eval_step != r.steps) {
        note = fmt::format(
            "{}: skipped, unfinished: metrics.jsonl has no held-out loss at its last step {:.0f} (cut "
            "short?)",
            run_dir.string(), *r.steps);
        return std::nullopt;
      }
    }
    if (!r.wall_seconds) r.wall_seconds = number(info, info_key::kTrainSeconds);
    if (auto per_token = number(probe.at(run_files::probe::kRun), "training_flops_per_token");
        per_token && r.tokens) {
      r.train_flops = *per_token * *r.tokens;
    }
    return RunRecord{std::move(r), read_curve(lines), read_router_curve(lines)};
  } catch (const Json::exception& e) {
    note =
        fmt::format("{}: skipped, config.json or probe.json lacks a field ({})", run_dir.string(), e.what());
    return std::nullopt;
  }
}

}  // namespace lab
