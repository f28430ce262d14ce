// `lab run`, `lab probe` and `lab report` end to end through the real binary, on a preset small
// enough to train in seconds: the output layout, skip and resume, dry runs, shards and bad input.
#include <algorithm>
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace lab::test {
namespace {

namespace fs = std::filesystem;

const char* kTinyPreset = R"(name = "tiny"
[train]
steps = 12
batch_size = 8
lr = 1e-2
log_every = 4
[model]
layers = 1
heads = 2
[[tasks]]
task = "phonebook"
entries = 30
control_count = 10
[[tasks]]
task = "shortest-path"
count = 200
test_count = 20
nodes_min = 4
nodes_max = 6
node_tokens = 8
[[models]]
family = "dense"
d_model = 16
)";

fs::path write_preset(const TempDir& dir, const std::string& text) {
  fs::path file = dir / "tiny.toml";
  std::ofstream(file) << text;
  return file;
}

std::vector<fs::path> run_dirs(const fs::path& out) {
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(out / "runs")) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

long lines(const fs::path& file) {
  std::ifstream in(file);
  return std::count(std::istreambuf_iterator<char>(in), {}, '\n');
}

TEST(RunCli, RunsTrainsProbesReportsThenSkipsAndResumes) {
  TempDir dir;
  const fs::path preset = write_preset(dir, kTinyPreset);
  const fs::path out = dir / "out";
  ProcessResult r = run_lab({"--threads", "1", "run", preset.string(), "--out", out.string(), "--no-report"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto runs = run_dirs(out);
  ASSERT_EQ(runs.size(), 2u);
  for (const fs::path& run : runs) {
    EXPECT_TRUE(fs::exists(run / "probe.json")) << run;
    EXPECT_TRUE(fs::exists(run / "run.json")) << run;
    auto probe = nlohmann::json::parse(std::ifstream(run / "probe.json"));
    EXPECT_TRUE(probe.at("metrics").at("accuracy").is_number());
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(out / "datasets"), {}), 2);
  EXPECT_FALSE(fs::exists(out / "results.csv"));  // --no-report

  // Again: both runs are finished; the report is built now.
  r = run_lab({"-q", "run", preset.string(), "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines(out / "results.csv"), 3);
  r = run_lab({"run", preset.string(), "--out", out.string(), "--no-report"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("0 runs finished now, 2 already finished"), std::string::npos) << r.out;

  // A run whose probe never happened (killed after training): resumed from its checkpoint, probed.
  fs::remove(runs[0] / "probe.json");
  r = run_lab({"--threads", "1", "run", preset.string(), "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("(resuming)"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(runs[0] / "probe.json"));
  // The probe is deterministic: the same numbers again, so the database row is unchanged.
  EXPECT_NE(r.out.find("0 added, 0 updated, 2 unchanged"), std::string::npos) << r.out;

  // `lab probe` and `lab report` on their own.
  r = run_lab({"--threads", "1", "probe", runs[1].string(), "--limit", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("held-out"), std::string::npos) << r.out;
  r = run_lab({"report", out.string(), "--no-plots"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("2 runs:"), std::string::npos) << r.out;
}

// Error classes per probed answer, counted from a predictions file.
std::map<std::string, long> errors_in(const fs::path& predictions, long& lines_read) {
  std::map<std::string, long> counts;
  std::ifstream in(predictions);
  lines_read = 0;
  for (std::string line; std::getline(in, line); ++lines_read) {
    nlohmann::json j = nlohmann::json::parse(line);  // every line is JSON on its own
    EXPECT_TRUE(j.at("decoded_ids").is_array());
    EXPECT_TRUE(j.at("prompt").is_string());
    if (j.at("split") == "test" && j.at("verdict").contains("error")) ++counts[j.at("verdict").at("error")];
  }
  return counts;
}

TEST(RunCli, PredictionsFilesHoldEveryProbedAnswerAndMatchProbeJson) {
  TempDir dir;
  // The preset key: every run of `lab run` keeps RUN/predictions.jsonl.
  std::string text = kTinyPreset;
  text.insert(text.find("[train]"), "predictions = true\n");
  const fs::path preset = write_preset(dir, text);
  const fs::path out = dir / "out";
  ProcessResult r =
      run_lab({"-q", "--threads", "1", "run", preset.string(), "--out", out.string(), "--no-report"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const fs::path& run : run_dirs(out)) {
    SCOPED_TRACE(run.string());
    ASSERT_TRUE(fs::exists(run / "predictions.jsonl"));
    auto probe = nlohmann::json::parse(std::ifstream(run / "probe.json"));
    long n = 0;
    auto counts = errors_in(run / "predictions.jsonl", n);
    EXPECT_EQ(probe.at("predictions").at("lines").get<long>(), n);
    if (probe.at("task") == "shortest-path") {
      EXPECT_EQ(n, 20);  // the test split
      for (const auto& [name, count] : probe.at("errors").at("counts").items()) {
        EXPECT_EQ(count.get<long>(), counts[name]) << name;
      }
    } else {
      EXPECT_EQ(n, 30 + 10);  // the book's test queries (all 30 entries) and the control names
    }
  }

  // The report carries the error classes of graph runs into results.csv, and names the most common one.
  r = run_lab({"report", out.string(), "--no-plots"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("most common error"), std::string::npos) << r.out;
  std::ifstream csv(out / "results.csv");
  std::string header, row;
  std::getline(csv, header);
  std::vector<std::string> names;
  for (std::size_t at = 0, next; at <= header.size(); at = next + 1) {
    next = std::min(header.find(',', at), header.size());
    names.push_back(header.substr(at, next - at));
  }
  for (const char* column : {"path_first_hop", "error_malformed", "error_wrong_ends", "error_too_short",
                             "error_too_long", "error_not_a_path", "error_false_yes", "error_false_no"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), column), names.end()) << column;
  }

  // `lab probe --predictions` on its own, with --limit.
  const fs::path graph_run = run_dirs(out)[1];
  r = run_lab({"--threads", "1", "probe", graph_run.string(), "--limit", "5", "--predictions",
               (dir / "five.jsonl").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("predictions 5 lines"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("errors"), std::string::npos) << r.out;
  long n = 0;
  errors_in(dir / "five.jsonl", n);
  EXPECT_EQ(n, 5);
  // An unwritable predictions file: exit 2 naming it.
  r = run_lab({"--threads", "1", "probe", graph_run.string(), "--limit", "5", "--predictions",
               (dir / "no-such-dir" / "p.jsonl").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("no-such-dir"), std::string::npos) << r.err;
}

TEST(RunCli, TrainLogsPeriodicProbesAndCumulativeSeconds) {
  TempDir dir;
  ProcessResult r = run_lab({"-q", "gen", "phonebook", "--out", (dir / "book").string(), "--entries", "40",
                             "--control-count", "10"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_lab({"-q",
               "--threads",
               "1",
               "train",
               "--data",
               (dir / "book").string(),
               "--out",
               (dir / "run").string(),
               "--d-model",
               "16",
               "--layers",
               "1",
               "--heads",
               "2",
               "--steps",
               "12",
               "--batch-size",
               "8",
               "--log-every",
               "4",
               "--probe-every",
               "4",
               "--probe-examples",
               "7"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(dir / "run/metrics.jsonl");
  std::vector<std::int64_t> probed;
  double last_seconds = 0;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("probe_recall_exact")) {
      probed.push_back(j.at("step").get<std::int64_t>());
      EXPECT_EQ(j.at("probe_examples").get<int>(), 7);
      EXPECT_GE(j.at("probe_recall_per_digit").get<double>(), 0.0);
    }
    if (j.contains("seconds")) {
      EXPECT_GE(j.at("seconds").get<double>(), last_seconds);
      last_seconds = j.at("seconds").get<double>();
    }
  }
  EXPECT_EQ(probed, (std::vector<std::int64_t>{4, 8, 12}));
  EXPECT_GT(last_seconds, 0.0);
}

TEST(RunCli, DryRunAndShardsPlanWithoutRunning) {
  TempDir dir;
  const fs::path preset = write_preset(dir, kTinyPreset);
  ProcessResult r = run_lab({"run", preset.string(), "--out", (dir / "out").string(), "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("2 runs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("phonebook_dense_"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("estimated training time"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir / "out"));

  r = run_lab({"--threads", "1", "run", preset.string(), "--out", (dir / "out").string(), "--shard", "1/2",
               "--no-report"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto runs = run_dirs(dir / "out");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_NE(runs[0].filename().string().find("shortest-path_"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir / "out" / "preset.resolved.toml"));

  // --shard auto: the task's place in a Slurm job array (here --array=4-5, the second task).
  const std::vector<std::string> slurm = {"SLURM_ARRAY_TASK_ID=5", "SLURM_ARRAY_TASK_COUNT=2",
                                          "SLURM_ARRAY_TASK_MIN=4"};
  ProcessResult auto_shard = run_lab({"run", preset.string(), "--dry-run", "--shard", "auto"}, slurm);
  ProcessResult second = run_lab({"run", preset.string(), "--dry-run", "--shard", "1/2"});
  ASSERT_EQ(auto_shard.exit_code, 0) << auto_shard.err;
  EXPECT_EQ(auto_shard.out, second.out);
  EXPECT_NE(auto_shard.out.find("shortest-path_"), std::string::npos) << auto_shard.out;
  EXPECT_EQ(auto_shard.out.find("phonebook_"), std::string::npos) << auto_shard.out;
}

TEST(RunCli, OverridesChangeThePresetAndShardAutoNeedsASlurmArray) {
  TempDir dir;
  const fs::path preset = write_preset(dir, kTinyPreset);
  ProcessResult r = run_lab({"run", preset.string(), "--dry-run", "seeds=[0,1]", "train.steps=3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("4 runs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("_s1 "), std::string::npos) << r.out;

  r = run_lab({"run", preset.string(), "--out", (dir / "out").string(), "train.stepz=3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cmdline: train.stepz: unknown key 'stepz'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out"));

  r = run_lab({"run", preset.string(), "--out", (dir / "out").string(), "--shard", "auto"},
              {"SLURM_ARRAY_TASK_ID=", "SLURM_ARRAY_TASK_COUNT="});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--shard auto: SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT are not set"),
            std::string::npos)
      << r.err;
  r = run_lab({"run", preset.string(), "--dry-run", "--shard", "auto"},
              {"SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_TASK_COUNT=four"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("SLURM_ARRAY_TASK_COUNT=four: expected an integer"), std::string::npos) << r.err;
  r = run_lab({"run", preset.string(), "--dry-run", "--shard", "auto"},
              {"SLURM_ARRAY_TASK_ID=7", "SLURM_ARRAY_TASK_COUNT=2", "SLURM_ARRAY_TASK_MIN=0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("is not one of the array's 0..1"), std::string::npos) << r.err;
  // --array=0-2:2 has tasks 0 and 2: task 2 is the second shard.
  r = run_lab({"run", preset.string(), "--dry-run", "--shard", "auto"},
              {"SLURM_ARRAY_TASK_ID=2", "SLURM_ARRAY_TASK_COUNT=2", "SLURM_ARRAY_TASK_MIN=0",
               "SLURM_ARRAY_TASK_STEP=2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, run_lab({"run", preset.string(), "--dry-run", "--shard", "1/2"}).out);
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(RunCli, BadInputExitsTwoWithAMessageAndWritesNothing) {
  TempDir dir;
  std::string bad = kTinyPreset;
  bad.replace(bad.find("d_model = 16"), 12, "d_model = \"wide\"");
  const fs::path preset = write_preset(dir, bad);
  ProcessResult r = run_lab({"run", preset.string(), "--out", (dir / "out").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("tiny.toml:23:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'d_model'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out"));

  r = run_lab({"run", "no-such-preset"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no shipped preset"), std::string::npos) << r.err;
  r = run_lab({"run", preset.string(), "--shard", "2/2"});
  EXPECT_EQ(r.exit_code, 2);
  r = run_lab({"report", (dir / "missing").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a directory"), std::string::npos) << r.err;
  fs::create_directories(dir / "empty-run");
  std::ofstream(dir / "empty-run/config.json") << "{}";
  r = run_lab({"probe", (dir / "empty-run").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("empty-run"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace lab::test
