// The results database and CSV from hand-written run directories: one row per probed run, values
// read from the files, idempotent re-runs, updates, skipped and removed runs; plots when gnuplot is
// installed.
#include "results/report.h"

#include <algorithm>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "core/json_file.h"
#include "tests/support/temp_dir.h"

namespace lab {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

void write_json(const fs::path& file, const Json& j) { std::ofstream(file) << j.dump(2); }

// A run directory as `lab run` leaves it, with the numbers given.
void make_run(const fs::path& dir, const std::string& id, const std::string& family, int d_model, int experts,
              double accuracy, int seed, bool probed = true) {
  fs::create_directories(dir);
  Json model = {{"d_model", d_model},
                {"layers", 2},
                {"heads", 4},
                {"ffn", experts ? "moe" : "dense"},
                {"router", "token_choice"},
                {"granularity", 0},
                {"resolved", {{"d_ff", d_model}}}};
  if (experts) model["resolved"].update({{"experts", experts}, {"top_k", 1}, {"expert_width", d_model}});
  write_json(dir / "config.json",
             {{"model", model}, {"train", {{"seed", seed}}}, {"dataset", {{"dir", "/nonexistent"}}}});
  write_json(dir / "run.json", {{"run_id", id},
                                {"preset", "test"},
                                {"family", family},
                                {"seed", seed},
                                {"data_label", "phonebook, 100 entries"}});
  std::ofstream(dir / "metrics.jsonl") << R"({"step":10,"tokens":1000,"loss":2.5})"
                                          "\n"
                                       << R"({"step":20,"tokens":2000,"loss":1.5})"
                                          "\n"
                                       << R"({"step":20,"eval_loss":1.75})"
                                          "\n"
                                       << R"({"step":30,"tok)";  // torn by a crash
  if (probed) {
    write_json(
        dir / "probe.json",
        {{"task", "phonebook"},
         {"metrics", {{"accuracy", accuracy}, {"recall_exact", accuracy}, {"bits_per_param_total", 0.5}}},
         {"parameters",
          {{"total", 1000 * d_model * (experts ? experts : 1)},
           {"active", 1000 * d_model},
           {"non_embedding", 10}}},
         {"run", {{"training_flops_per_token", 300.0}}}});
  }
}

long count_rows(const fs::path& db_file, const char* table) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(db_file.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::string sql = std::string("SELECT COUNT(*) FROM ") + table;
  sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
  sqlite3_step(st);
  long n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

std::string read(const fs::path& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(Report, OneRowPerProbedRunWithTheValuesOfItsFiles) {
  test::TempDir dir;
  make_run(dir / "runs/a", "a", "dense", 32, 0, 0.25, 0);
  make_run(dir / "runs/b", "b", "dense", 32, 0, 0.75, 1);
  make_run(dir / "runs/c", "c", "moe", 32, 4, 0.5, 0);
  make_run(dir / "runs/d", "d", "moe", 32, 8, 0.5, 0, /*probed=*/false);
  ReportOptions options;
  options.quiet = true;
  options.plots = false;
  ReportSummary s = build_report(dir.path(), options);
  EXPECT_EQ(s.added, 3);
  ASSERT_EQ(s.rows.size(), 3u);
  ASSERT_EQ(s.notes.size(), 1u);
  EXPECT_NE(s.notes[0].find("runs/d: not probed yet"), std::string::npos) << s.notes[0];

  const ResultRow& a = s.rows[0];  // dense rows first (family), then by parameters and seed
  EXPECT_EQ(a.run_id, "a");
  EXPECT_EQ(*a.steps, 20);
  EXPECT_EQ(*a.tokens, 2000);
  EXPECT_EQ(*a.train_loss, 1.5);
  EXPECT_EQ(*a.eval_loss, 1.75);
  EXPECT_EQ(*a.train_flops, 300.0 * 2000);
  EXPECT_EQ(*a.total_params, 32000);
  EXPECT_EQ(*a.accuracy, 0.25);
  EXPECT_FALSE(a.experts.has_value());
  EXPECT_EQ(s.rows[2].run_id, "c");
  EXPECT_EQ(*s.rows[2].experts, 4);

  EXPECT_EQ(count_rows(dir / "results.sqlite", "runs"), 3);
  EXPECT_EQ(count_rows(dir / "results.sqlite", "curves"), 3 * 2);  // steps 10 and 20; the torn line dropped
  const std::string csv = read(dir / "results.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);  // header + 3 rows
  EXPECT_EQ(csv.substr(0, csv.find(',')), "run_id");
  EXPECT_NE(csv.find("\"phonebook, 100 entries\""), std::string::npos);  // quoted: it holds a comma
}

TEST(Report, RerunningAddsNothingAndPicksUpChangesAndRemovals) {
  test::TempDir dir;
  make_run(dir / "runs/a", "a", "dense", 32, 0, 0.25, 0);
  make_run(dir / "runs/b", "b", "dense", 64, 0, 0.5, 0);
  ReportOptions options;
  options.quiet = true;
  options.plots = false;
  build_report(dir.path(), options);
  const std::string first_csv = read(dir / "results.csv");

  ReportSummary again = build_report(dir.path(), options);
  EXPECT_EQ(again.added, 0);
  EXPECT_EQ(again.updated, 0);
  EXPECT_EQ(again.unchanged, 2);
  EXPECT_EQ(read(dir / "results.csv"), first_csv);  // byte for byte
  EXPECT_EQ(count_rows(dir / "results.sqlite", "runs"), 2);

  make_run(dir / "runs/b", "b", "dense", 64, 0, 0.9, 0);  // re-probed with a better checkpoint
  ReportSummary updated = build_report(dir.path(), options);
  EXPECT_EQ(updated.updated, 1);
  EXPECT_EQ(updated.unchanged, 1);
  EXPECT_EQ(*updated.rows[1].accuracy, 0.9);

  fs::remove_all(dir / "runs/a");
  ReportSummary removed = build_report(dir.path(), options);
  EXPECT_EQ(removed.rows.size(), 1u);
  EXPECT_EQ(count_rows(dir / "results.sqlite", "runs"), 1);
  EXPECT_EQ(count_rows(dir / "results.sqlite", "curves"), 2);
}

TEST(Report, HalfWrittenOrUnfinishedRunsAreSkippedWithANoteNamingThem) {
  test::TempDir dir;
  make_run(dir / "runs/good", "good", "dense", 32, 0, 0.25, 0);
  // probe.json cut short (a crash while writing, `truncate -s 300`): that run is skipped, not the report.
  make_run(dir / "runs/torn", "torn", "dense", 32, 0, 0.25, 1);
  std::ofstream(dir / "runs/torn/probe.json") << "{\"task\": ";
  // metrics.jsonl ending before the configured steps, without its final held-out loss.
  make_run(dir / "runs/short", "short", "dense", 32, 0, 0.25, 2);
  Json config = Json::parse(read(dir / "runs/short/config.json"));
  config["train"]["steps"] = 400;
  write_json(dir / "runs/short/config.json", config);
  // The configured steps all logged, but the final held-out loss missing: cut between the two lines.
  make_run(dir / "runs/noeval", "noeval", "dense", 32, 0, 0.25, 3);
  std::ofstream(dir / "runs/noeval/metrics.jsonl") << R"({"step":10,"tokens":1000,"loss":2.5})"
                                                      "\n"
                                                   << R"({"step":20,"tokens":2000,"loss":1.5})"
                                                      "\n";
  ReportOptions options;
  options.quiet = true;
  options.plots = false;
  ReportSummary s = build_report(dir.path(), options);
  ASSERT_EQ(s.rows.size(), 1u);
  EXPECT_EQ(s.rows[0].run_id, "good");
  auto note_with = [&](const std::string& part) {
    return std::any_of(s.notes.begin(), s.notes.end(),
                       [&](const std::string& n) { return n.find(part) != n.npos; });
  };
  EXPECT_TRUE(note_with("runs/torn/probe.json: not valid JSON"));
  EXPECT_TRUE(note_with("runs/short: skipped, unfinished: metrics.jsonl ends at step 20 of 400"));
  EXPECT_TRUE(note_with("runs/noeval: skipped, unfinished: metrics.jsonl has no held-out loss"));
  EXPECT_THROW(build_report(dir / "missing", options), std::exception);
}

TEST(Report, DrawsPngAndSvgPlotsWhenGnuplotIsInstalled) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) GTEST_SKIP() << "gnuplot is not installed";
  test::TempDir dir;
  make_run(dir / "runs/a", "a", "dense", 32, 0, 0.25, 0);
  make_run(dir / "runs/b", "b", "dense", 32, 0, 0.75, 1);
  make_run(dir / "runs/c", "c", "moe", 32, 4, 0.5, 0);
  ReportOptions options;
  options.quiet = true;
  ReportSummary s = build_report(dir.path(), options);
  EXPECT_TRUE(s.notes.empty()) << s.notes.front();
  for (const char* name : {"accuracy_vs_total", "accuracy_vs_active", "loss_curves"}) {
    const std::string png = read(dir / "plots" / (std::string(name) + ".png"));
    ASSERT_GT(png.size(), 1000u) << name;
    EXPECT_EQ(png.substr(1, 3), "PNG") << name;
    EXPECT_NE(read(dir / "plots" / (std::string(name) + ".svg")).find("<svg"), std::string::npos) << name;
  }
  for (const auto& entry : fs::directory_iterator(dir / "plots")) {
    EXPECT_NE(entry.path().extension(), ".tmp") << "left behind: " << entry.path();
  }
}

// An MoE run's router windows and periodic probes in metrics.jsonl: the last window's figures in the
// row (worked out by hand), the probe accuracy in the curve, and their plots.
TEST(Report, RouterFiguresAndProbeCurvesFromMetrics) {
  test::TempDir dir;
  make_run(dir / "runs/c", "c", "moe", 32, 4, 0.5, 0);
  const Json early = {{"step", 10},
                      {"tokens", 1000},
                      {"loss", 2.5},
                      {"router",
                       {{{"layer", 0},
                         {"expert_share", {1, 0, 0, 0}},
                         {"imbalance", 4.0},
                         {"idle_experts", 3},
                         {"routing_entropy", 0.1}},
                        {{"layer", 1},
                         {"expert_share", {0.5, 0.5, 0, 0}},
                         {"imbalance", 2.0},
                         {"idle_experts", 2},
                         {"routing_entropy", 0.5}}}}};
  const Json last = {{"step", 20},
                     {"tokens", 2000},
                     {"loss", 1.5},
                     {"router",
                      {{{"layer", 0},
                        {"expert_share", {0.5, 0.5, 0, 0}},
                        {"imbalance", 2.0},
                        {"idle_experts", 2},
                        {"routing_entropy", 0.6}},
                       {{"layer", 1},
                        {"expert_share", {0.4, 0.2, 0.2, 0.2}},
                        {"imbalance", 1.6},
                        {"idle_experts", 0},
                        {"routing_entropy", 1.2}}}}};
  std::ofstream(dir / "runs/c/metrics.jsonl") << early.dump() << "\n"
                                              << R"({"step":10,"probe_accuracy":0.125})"
                                              << "\n"
                                              << last.dump() << "\n"
                                              << R"({"step":20,"eval_loss":1.75,"probe_accuracy":0.5})"
                                              << "\n";
  ReportOptions options;
  options.quiet = true;
  const bool gnuplot = std::system("command -v gnuplot > /dev/null 2>&1") == 0;
  options.plots = gnuplot;
  ReportSummary s = build_report(dir.path(), options);
  ASSERT_EQ(s.rows.size(), 1u);
  EXPECT_EQ(s.rows[0].router_imbalance, 2.0);        // the larger layer's, of the last window
  EXPECT_EQ(s.rows[0].router_idle_experts, 2.0);     // summed over the layers
  EXPECT_DOUBLE_EQ(*s.rows[0].router_entropy, 0.9);  // their mean
  const std::vector<CurvePoint> curve = read_curve(read_jsonl_file(dir / "runs/c/metrics.jsonl"));
  ASSERT_EQ(curve.size(), 2u);
  EXPECT_EQ(curve[0].probe_accuracy, 0.125);
  EXPECT_EQ(curve[1].probe_accuracy, 0.5);
  const std::vector<RouterPoint> router = read_router_curve(read_jsonl_file(dir / "runs/c/metrics.jsonl"));
  ASSERT_EQ(router.size(), 2u);
  EXPECT_EQ(router[1].expert_share.size(), 2u);
  EXPECT_EQ(router[1].imbalance, (std::vector<double>{2.0, 1.6}));
  if (!gnuplot) GTEST_SKIP() << "gnuplot is not installed: plots not checked";
  EXPECT_TRUE(s.notes.empty()) << s.notes.front();
  for (const fs::path& file : {dir / "plots/accuracy_curves.png", dir / "plots/router/c.png"}) {
    EXPECT_EQ(read(file).substr(1, 3), "PNG") << file;
  }
  EXPECT_NE(read(dir / "plots/router/c.svg").find("<svg"), std::string::npos);
}

}  // namespace
}  // namespace lab
