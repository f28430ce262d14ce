#include "results/report.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_file.h"
#include "core/run_files.h"
#include "results/plots.h"
#include "results/width_threshold.h"
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

std::string text(const Json& j, const char* key, const std::string& fallback = "") {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// The columns: name, and how to read it from a row.
struct Column {
  const char* name;
  std::string ResultRow::*text = nullptr;
  std::optional<double> ResultRow::*value = nullptr;
};

const std::vector<Column>& columns() {
  using R = ResultRow;
  static const std::vector<Column> c = {
      {"run_id", &R::run_id},
      {"preset", &R::preset},
      {"task", &R::task},
      {"dataset", &R::data_label},
      {"vertices", nullptr, &R::vertices},
      {"family", &R::family},
      {"ffn", &R::ffn},
      {"router", &R::router},
      {"d_model", nullptr, &R::d_model},
      {"layers", nullptr, &R::layers},
      {"heads", nullptr, &R::heads},
      {"d_ff", nullptr, &R::d_ff},
      {"experts", nullptr, &R::experts},
      {"top_k", nullptr, &R::top_k},
      {"expert_width", nullptr, &R::expert_width},
      {"granularity", nullptr, &R::granularity},
      {"seed", nullptr, &R::seed},
      {"steps", nullptr, &R::steps},
      {"tokens", nullptr, &R::tokens},
      {"total_params", nullptr, &R::total_params},
      {"active_params", nullptr, &R::active_params},
      {"non_embedding_params", nullptr, &R::non_embedding_params},
      {"train_flops", nullptr, &R::train_flops},
      {"wall_seconds", nullptr, &R::wall_seconds},
      {"train_loss", nullptr, &R::train_loss},
      {"eval_loss", nullptr, &R::eval_loss},
      {"accuracy", nullptr, &R::accuracy},
      {"recall_exact", nullptr, &R::recall_exact},
      {"recall_per_digit", nullptr, &R::recall_per_digit},
      {"control_exact", nullptr, &R::control_exact},
      {"memorized_entries", nullptr, &R::memorized_entries},
      {"bits_per_param_total", nullptr, &R::bits_per_param_total},
      {"bits_per_param_active", nullptr, &R::bits_per_param_active},
      {"path_valid", nullptr, &R::path_valid},
      {"path_exact", nullptr, &R::path_exact},
      {"path_first_hop", nullptr, &R::path_first_hop},
      {"balanced_accuracy", nullptr, &R::balanced_accuracy},
      {"error_malformed", nullptr, &R::error_malformed},
      {"error_wrong_ends", nullptr, &R::error_wrong_ends},
      {"error_too_short", nullptr, &R::error_too_short},
      {"error_too_long", nullptr, &R::error_too_long},
      {"error_not_a_path", nullptr, &R::error_not_a_path},
      {"error_false_yes", nullptr, &R::error_false_yes},
      {"error_false_no", nullptr, &R::error_false_no},
      {"error_wrong_middle", nullptr, &R::error_wrong_middle},
      {"error_missed_middle", nullptr, &R::error_missed_middle},
      {"error_invented_middle", nullptr, &R::error_invented_middle},
      {"run_dir", &R::run_dir},
  };
  return c;
}

// The error-class columns (a subset of columns()), in order.
const std::vector<Column>& error_columns() {
  static const std::vector<Column> c = [] {
    std::vector<Column> out;
    for (const Column& column : columns()) {
      if (std::string_view(column.name).starts_with("error_")) out.push_back(column);
    }
    return out;
  }();
  return c;
}

std::string format_number(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{:.6g}", v);
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

// --- SQLite -------------------------------------------------------------------------------------------

class Database {
 public:
  explicit Database(const fs::path& file) : file_(file) {
    if (sqlite3_open(file.c_str(), &db_) != SQLITE_OK) {
      std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      fail("{}: cannot open the results database ({})", file.string(), message);
    }
    sqlite3_busy_timeout(db_, 10'000);  // another `lab report` or a shard writing at the same time
    exec("PRAGMA journal_mode=WAL");
    std::string runs = "CREATE TABLE IF NOT EXISTS runs (";
    for (const Column& c : columns()) {
      runs += fmt::format("{}{} {}", c.name == columns().front().name ? "" : ", ", c.name,
                          c.text ? "TEXT" : "REAL");
    }
    runs += ", PRIMARY KEY (run_id))";
    // A database of an older layout is rebuilt: every run is added again from its directory.
    if (user_version() < kSchemaVersion) {
      exec("DROP TABLE IF EXISTS runs");
      exec("DROP TABLE IF EXISTS curves");
      exec(fmt::format("PRAGMA user_version = {}", kSchemaVersion));
    }
    exec(runs);
    exec(
        "CREATE TABLE IF NOT EXISTS curves (run_id TEXT, step INTEGER, tokens REAL, loss REAL, eval_loss "
        "REAL, seconds REAL, PRIMARY KEY (run_id, step))");
  }
  ~Database() { sqlite3_close(db_); }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // 2: curves gained `seconds`.
  // 3: path_first_hop and the error classes; 4: two-hop's vertices and error classes
  static constexpr int kSchemaVersion = 4;

  int user_version() {
    Statement st;
    prepare(st, "PRAGMA user_version");
    return sqlite3_step(st.s) == SQLITE_ROW ? sqlite3_column_int(st.s, 0) : 0;
  }

  void exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error ? error : "unknown error";
      sqlite3_free(error);
      fail("{}: {} (while running: {})", file_.string(), message, sql.substr(0, 60));
    }
  }

  struct Statement {
    sqlite3_stmt* s = nullptr;
    ~Statement() { sqlite3_finalize(s); }
  };

  void prepare(Statement& st, const std::string& sql) {
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK) {
      fail("{}: {}", file_.string(), sqlite3_errmsg(db_));
    }
  }
  void step_done(Statement& st) {
    if (sqlite3_step(st.s) != SQLITE_DONE) fail("{}: {}", file_.string(), sqlite3_errmsg(db_));
    sqlite3_reset(st.s);
    sqlite3_clear_bindings(st.s);
  }

  // The stored row of `run_id` as column texts, empty if none.
  std::vector<std::string> stored(const std::string& run_id) {
    Statement st;
    std::string sql = "SELECT ";
    for (std::size_t i = 0; i < columns().size(); ++i)
      sql += fmt::format("{}{}", i ? ", " : "", columns()[i].name);
    prepare(st, sql + " FROM runs WHERE run_id = ?");
    sqlite3_bind_text(st.s, 1, run_id.c_str(), -1, SQLITE_TRANSIENT);
    std::vector<std::string> values;
    if (sqlite3_step(st.s) == SQLITE_ROW) {
      for (std::size_t i = 0; i < columns().size(); ++i) {
        if (sqlite3_column_type(st.s, static_cast<int>(i)) == SQLITE_NULL) {
          values.emplace_back();
        } else if (columns()[i].text) {
          values.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st.s, static_cast<int>(i))));
        } else {
          values.push_back(format_number(sqlite3_column_double(st.s, static_cast<int>(i))));
        }
      }
    }
    return values;
  }

  void upsert(const ResultRow& row, const std::vector<CurvePoint>& curve) {
    Statement st;
    std::string sql = "INSERT OR REPLACE INTO runs VALUES (";
    for (std::size_t i = 0; i < columns().size(); ++i) sql += i ? ", ?" : "?";
    prepare(st, sql + ")");
    for (std::size_t i = 0; i < columns().size(); ++i) {
      const Column& c = columns()[i];
      const int at = static_cast<int>(i + 1);
      if (c.text) {
        sqlite3_bind_text(st.s, at, (row.*c.text).c_str(), -1, SQLITE_TRANSIENT);
      } else if (auto v = row.*c.value) {
        sqlite3_bind_double(st.s, at, *v);
      } else {
        sqlite3_bind_null(st.s, at);
      }
    }
    step_done(st);
    Statement del;
    prepare(del, "DELETE FROM curves WHERE run_id = ?");
    sqlite3_bind_text(del.s, 1, row.run_id.c_str(), -1, SQLITE_TRANSIENT);
    step_done(del);
    Statement ins;
    prepare(ins, "INSERT OR REPLACE INTO curves VALUES (?, ?, ?, ?, ?, ?)");
    for (const CurvePoint& point : curve) {
      sqlite3_bind_text(ins.s, 1, row.run_id.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(ins.s, 2, static_cast<sqlite3_int64>(point.step));
      int at = 3;
      for (double v : {point.tokens, point.loss, point.eval_loss, point.seconds}) {
        if (std::isnan(v))
          sqlite3_bind_null(ins.s, at++);
        else
          sqlite3_bind_double(ins.s, at++, v);
      }
      step_done(ins);
    }
  }

  std::vector<std::string> run_ids() {
    Statement st;
    prepare(st, "SELECT run_id FROM runs");
    std::vector<std::string> ids;
    while (sqlite3_step(st.s) == SQLITE_ROW)
      ids.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0)));
    return ids;
  }

  void remove(const std::string& run_id) {
    for (const char* table : {"runs", "curves"}) {
      Statement st;
      prepare(st, fmt::format("DELETE FROM {} WHERE run_id = ?", table));
      sqlite3_bind_text(st.s, 1, run_id.c_str(), -1, SQLITE_TRANSIENT);
      step_done(st);
    }
  }

 private:
  fs::path file_;
  sqlite3* db_ = nullptr;
};

}  // namespace

std::vector<CurvePoint> read_curve(const fs::path& file) {
  std::map<std::int64_t, CurvePoint> by_step;
  if (!fs::exists(file)) return {};
  const double nan = std::nan("");
  for (const Json& line : read_jsonl_file(file)) {
    auto step = number(line, run_files::metrics::kStep);
    if (!step) continue;
    auto [it, inserted] =
        by_step.try_emplace(static_cast<std::int64_t>(*step), CurvePoint{*step, nan, nan, nan, nan});
    if (auto t = number(line, "tokens")) it->second.tokens = *t;
    if (auto l = number(line, run_files::metrics::kLoss)) it->second.loss = *l;
    if (auto e = number(line, run_files::metrics::kEvalLoss)) it->second.eval_loss = *e;
    if (auto s = number(line, "seconds")) it->second.seconds = *s;
  }
  std::vector<CurvePoint> curve;
  for (auto& [step, point] : by_step) curve.push_back(point);
  return curve;
}

namespace {

void write_csv(const fs::path& file, const std::vector<ResultRow>& rows) {
  auto quote = [](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  std::string csv;
  for (std::size_t i = 0; i < columns().size(); ++i)
    csv += fmt::format("{}{}", i ? "," : "", columns()[i].name);
  csv += "\n";
  for (const ResultRow& row : rows) {
    for (std::size_t i = 0; i < columns().size(); ++i)
      csv += fmt::format("{}{}", i ? "," : "", quote(result_value(row, i)));
    csv += "\n";
  }
  write_file_atomically(file, csv);
}

// Rows by (task, dataset, family, active, total, seed, id): the order of the CSV and the table.
bool row_order(const ResultRow& a, const ResultRow& b) {
  auto key = [](const ResultRow& r) {
    return std::tuple(r.task, r.data_label, r.family, r.active_params.value_or(0), r.total_params.value_or(0),
                      r.steps.value_or(0), r.seed.value_or(0), r.run_id);
  };
  return key(a) < key(b);
}

void print_table(const std::vector<ResultRow>& rows) {
  // One line per model and training budget (mean over seeds): the question the lab answers, at a glance.
  struct Point {
    const ResultRow* first;
    std::vector<double> accuracy, eval_loss, first_hop;
    std::map<std::string, double> errors;  // error class -> sum over seeds of its share
  };
  std::vector<std::pair<std::string, Point>> points;
  for (const ResultRow& r : rows) {
    const std::string key = fmt::format("{}|{}|{}|{}|{}", r.data_label, r.family, r.total_params.value_or(0),
                                        r.active_params.value_or(0), r.steps.value_or(0));
    auto it = std::find_if(points.begin(), points.end(), [&](const auto& p) { return p.first == key; });
    if (it == points.end()) {
      points.push_back({key, Point{&r, {}, {}, {}, {}}});
      it = points.end() - 1;
    }
    if (r.accuracy) it->second.accuracy.push_back(*r.accuracy);
    if (r.eval_loss) it->second.eval_loss.push_back(*r.eval_loss);
    if (r.path_first_hop) it->second.first_hop.push_back(*r.path_first_hop);
    for (const Column& c : error_columns()) {
      if (r.*c.value) it->second.errors[c.name + std::strlen("error_")] += *(r.*c.value);
    }
  }
  // The most common error class of a point, with its mean share over seeds.
  auto most_common_error = [](const Point& p) -> std::string {
    auto most = std::max_element(p.errors.begin(), p.errors.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
    if (most == p.errors.end() || most->second <= 0) return "-";
    return fmt::format("{} {:.1f}%", most->first,
                       100 * most->second / static_cast<double>(p.accuracy.size()));
  };
  auto mean_of = [](const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return v.empty() ? 0.0 : sum / static_cast<double>(v.size());
  };
  std::cout << fmt::format("{:<42} {:<12} {:>6} {:>7} {:>10} {:>10} {:>6} {:>5} {:>9} {:>20} {:>8}  {}\n",
                           "dataset", "family", "d", "E x k", "params", "active", "steps", "seeds",
                           "eval loss", "accuracy [min, max]", "1st hop", "most common error");
  for (const auto& [key, p] : points) {
    const ResultRow& r = *p.first;
    double mean = 0, lo = 1, hi = 0, loss = 0;
    for (double a : p.accuracy) {
      mean += a / static_cast<double>(p.accuracy.size());
      lo = std::min(lo, a);
      hi = std::max(hi, a);
    }
    for (double l : p.eval_loss) loss += l / static_cast<double>(p.eval_loss.size());
    const std::string moe =
        r.ffn == "moe" ? fmt::format("{:.0f}x{:.0f}", r.experts.value_or(0), r.top_k.value_or(0)) : "-";
    const std::string acc = p.accuracy.empty() ? "n/a"
                            : p.accuracy.size() == 1
                                ? fmt::format("{:.1f}%", 100 * mean)
                                : fmt::format("{:.1f}% [{:.1f}, {:.1f}]", 100 * mean, 100 * lo, 100 * hi);
    std::cout << fmt::format(
        "{:<42} {:<12} {:>6.0f} {:>7} {:>10.0f} {:>10.0f} {:>6.0f} {:>5} {:>9} {:>20} {:>8}  {}\n",
        r.data_label, r.family, r.d_model.value_or(0), moe, r.total_params.value_or(0),
        r.active_params.value_or(0), r.steps.value_or(0), p.accuracy.size(),
        p.eval_loss.empty() ? "n/a" : fmt::format("{:.4f}", loss), acc,
        p.first_hop.empty() ? "-" : fmt::format("{:.1f}%", 100 * mean_of(p.first_hop)), most_common_error(p));
  }
}

}  // namespace

const std::vector<std::string>& result_columns() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const Column& c : columns()) n.push_back(c.name);
    return n;
  }();
  return names;
}

std::string result_value(const ResultRow& row, std::size_t column) {
  const Column& c = columns().at(column);
  if (c.text) return row.*c.text;
  auto v = row.*c.value;
  return v ? format_number(*v) : "";
}

std::optional<ResultRow> read_run(const fs::path& run_dir, std::string& note) {
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
      for (const Column& c : error_columns()) r.*c.value = number(metrics, c.name);
    }
    // The last training line and the last held-out loss of metrics.jsonl. The trainer ends every run
    // with a held-out loss at its last step: a file without one was cut short.
    std::optional<double> eval_step;
    if (fs::exists(run_dir / run_files::kMetrics)) {
      std::vector<Json> lines;
      try {
        lines = read_jsonl_file(run_dir / run_files::kMetrics);
      } catch (const Error& e) {
        note = fmt::format("skipped: {}", e.what());
        return std::nullopt;
      }
      for (const Json& line : lines) {
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
    return r;
  } catch (const Json::exception& e) {
    note =
        fmt::format("{}: skipped, config.json or probe.json lacks a field ({})", run_dir.string(), e.what());
    return std::nullopt;
  }
}

std::vector<std::map<std::string, std::string>> read_results_csv(const fs::path& file) {
  std::ifstream in(file);
  if (!in)
    fail("{}: cannot open (give a results.csv, or the directory `lab report` wrote it into)", file.string());
  // RFC 4180: fields separated by commas, quoted when they hold a comma, quote or newline.
  auto split = [&](const std::string& line, std::size_t number) {
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (quoted) {
        if (c == '"' && i + 1 < line.size() && line[i + 1] == '"')
          fields.back() += '"', ++i;
        else if (c == '"')
          quoted = false;
        else
          fields.back() += c;
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        fields.emplace_back();
      } else {
        fields.back() += c;
      }
    }
    if (quoted) fail("{}:{}: an unterminated quoted field", file.string(), number);
    return fields;
  };
  std::string line;
  if (!std::getline(in, line)) fail("{}: empty, no header line", file.string());
  const std::vector<std::string> header = split(line, 1);
  std::vector<std::map<std::string, std::string>> rows;
  for (std::size_t number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    auto fields = split(line, number);
    if (fields.size() != header.size()) {
      fail("{}:{}: {} fields where the header has {}", file.string(), number, fields.size(), header.size());
    }
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < header.size(); ++i) row[header[i]] = fields[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

ReportSummary build_report(const fs::path& dir, const ReportOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    fail("{}: not a directory (give the output directory of `lab run`, or any directory of runs)",
         dir.string());
  ReportSummary summary;
  std::vector<ResultRow> rows;
  std::map<std::string, std::vector<CurvePoint>> curves;
  std::set<std::string> seen;
  for (const fs::path& run_dir : find_runs(dir)) {
    std::string note;
    auto row = read_run(run_dir, note);
    if (!row) {
      summary.notes.push_back(note);
      continue;
    }
    if (!seen.insert(row->run_id).second) {
      summary.notes.push_back(
          fmt::format("{}: skipped, another run has the same id {}", run_dir.string(), row->run_id));
      continue;
    }
    // Relative to DIR, so the CSV is the same wherever the runs are copied to.
    row->run_dir = run_dir.lexically_relative(dir).lexically_normal().string();
    curves[row->run_id] = read_curve(run_dir / run_files::kMetrics);
    rows.push_back(std::move(*row));
  }

  Database db(dir / "results.sqlite");
  db.exec("BEGIN IMMEDIATE");
  try {
    for (const ResultRow& r : rows) {
      std::vector<std::string> before = db.stored(r.run_id);
      std::vector<std::string> after;
      for (std::size_t i = 0; i < columns().size(); ++i) after.push_back(result_value(r, i));
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
