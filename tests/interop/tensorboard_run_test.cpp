// RUN/tb: a training run's TensorBoard events hold every scalar of its metrics.jsonl, read back by
// lab's reader and, where a Python with the `tensorboard` package is installed (scripts/setup.sh puts
// one in build/pyenv), by TensorBoard's own readers, across a resume.
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/tensorboard.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace lab::tensorboard_run_test {
namespace fs = std::filesystem;

using Points = std::map<std::string, std::map<std::int64_t, double>>;  // tag -> step -> value

// What metrics.jsonl says TensorBoard should show, derived from the lines here: each number under its
// key, an MoE's router figures as router/layerL/KEY and router/layerL/expert_share/E.
Points expected_points(const fs::path& metrics) {
  Points points;
  std::ifstream in(metrics);
  for (std::string text; std::getline(in, text);) {
    const nlohmann::json line = nlohmann::json::parse(text);
    const std::int64_t step = line.at("step").get<std::int64_t>();
    for (const auto& [key, value] : line.items()) {
      if (key != "step" && value.is_number()) points[key][step] = value.get<double>();
    }
    if (!line.contains("router")) continue;
    for (const nlohmann::json& layer : line.at("router")) {
      const std::string prefix = fmt::format("router/layer{}/", layer.at("layer").get<int>());
      for (const char* key : {"imbalance", "idle_experts", "routing_entropy"}) {
        points[prefix + key][step] = layer.at(key).get<double>();
      }
      const nlohmann::json& share = layer.at("expert_share");
      for (std::size_t e = 0; e < share.size(); ++e) {
        points[prefix + "expert_share/" + std::to_string(e)][step] = share[e].get<double>();
      }
    }
  }
  return points;
}

TEST(TensorBoard, ARunsEventsHoldItsMetricsAcrossAResume) {
  test::TempDir dir;
  ASSERT_EQ(test::run_lab({"-q", "gen", "phonebook", "--entries", "40", "--out", (dir / "book").string()})
                .exit_code,
            0);
  const std::vector<std::string> train = {"--threads",
                                          "1",
                                          "-q",
                                          "train",
                                          "--data",
                                          (dir / "book").string(),
                                          "--out",
                                          (dir / "run").string(),
                                          "--steps",
                                          "12",
                                          "--batch-size",
                                          "8",
                                          "--log-every",
                                          "3",
                                          "--eval-every",
                                          "6",
                                          "--checkpoint-every",
                                          "6",
                                          "--d-model",
                                          "16",
                                          "--layers",
                                          "2",
                                          "--heads",
                                          "2",
                                          "--experts",
                                          "4",
                                          "--top-k",
                                          "1"};
  ASSERT_EQ(test::run_lab(train).exit_code, 0);
  // Resume from step 6: the steps after it are trained and logged again.
  fs::remove(dir / "run/checkpoints/step-00000012.safetensors");
  fs::remove(dir / "run/checkpoints/step-00000012.json");
  std::vector<std::string> resume = {
      "--threads", "1", "-q", "train", "--data", (dir / "book").string(), "--out", (dir / "run").string(),
      "--resume"};
  ASSERT_EQ(test::run_lab(resume).exit_code, 0);

  const Points expected = expected_points(dir / "run/metrics.jsonl");
  ASSERT_TRUE(expected.contains("loss"));
  ASSERT_TRUE(expected.contains("eval_loss"));
  ASSERT_TRUE(expected.contains("router/layer1/expert_share/3"));

  // lab's reader: every file's records in name order, a later point replacing an earlier one.
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir / "run/tb")) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  Points read;
  std::vector<std::int64_t> session_starts;
  for (const fs::path& file : files) {
    const TensorBoardEvents events = read_tensorboard_events(file);
    EXPECT_EQ(events.file_version, "brain.Event:2");
    for (const TensorBoardScalar& s : events.scalars) read[s.tag][s.step] = s.value;
    session_starts.insert(session_starts.end(), events.session_starts.begin(), events.session_starts.end());
  }
  EXPECT_EQ(session_starts, std::vector<std::int64_t>{7}) << "the resumed run marks its first new step";
  ASSERT_EQ(read.size(), expected.size());
  for (const auto& [tag, steps] : expected) {
    ASSERT_TRUE(read.contains(tag)) << tag;
    ASSERT_EQ(read.at(tag).size(), steps.size()) << tag;
    for (const auto& [step, value] : steps) {
      EXPECT_EQ(read.at(tag).at(step), static_cast<float>(value)) << tag << " at step " << step;
    }
  }

  // TensorBoard's own readers, where installed.
  if (!fs::exists(LAB_TENSORBOARD_PYTHON)) {
    GTEST_SKIP() << "no Python with tensorboard at " << LAB_TENSORBOARD_PYTHON
                 << " (`bash scripts/setup.sh` installs one from PyPI): TensorBoard's own reader not run";
  }
  nlohmann::json expected_json = nlohmann::json::object();
  for (const auto& [tag, steps] : expected) {
    for (const auto& [step, value] : steps) expected_json[tag].push_back({step, value});
  }
  std::ofstream(dir / "expected.json") << expected_json.dump();
  const test::ProcessResult r = test::run_process(
      LAB_TENSORBOARD_PYTHON, {std::string(LAB_SOURCE_DIR) + "/python/tests/check_tensorboard.py",
                               (dir / "run/tb").string(), (dir / "expected.json").string()});
  if (r.exit_code == 77) GTEST_SKIP() << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

}  // namespace lab::tensorboard_run_test
