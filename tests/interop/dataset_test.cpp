// Datasets from Python: python/lab_data.py reads a dataset directory as numpy memmaps and must see the
// token ids (and, decoded, the text) that `lab export --format jsonl` prints for every task.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace lab::dataset_interop_test {
namespace fs = std::filesystem;

TEST(DatasetInterop, NumpyReaderSeesTheIdsAndTextLabExports) {
  test::TempDir dir;
  const std::vector<std::pair<std::string, std::vector<std::string>>> datasets = {
      {"shortest-path", {"--count", "300", "--test-count", "40"}},
      {"connectivity", {"--count", "300", "--test-count", "40"}},
      {"two-hop", {"--count", "300", "--test-count", "40", "--vertices", "8"}},
      {"phonebook", {"--entries", "200", "--test-count", "40", "--control-count", "20"}},
  };
  for (const auto& [task, flags] : datasets) {
    SCOPED_TRACE(task);
    const fs::path data = dir / task;
    std::vector<std::string> gen = {"-q", "gen", task, "--out", data.string()};
    gen.insert(gen.end(), flags.begin(), flags.end());
    ASSERT_EQ(test::run_lab(gen).exit_code, 0);
    for (const std::string split : {"train", "test"}) {
      const test::ProcessResult exported =
          test::run_lab({"-q", "export", data.string(), "--split", split, "--format", "jsonl"});
      ASSERT_EQ(exported.exit_code, 0) << exported.err;
      const nlohmann::json first = nlohmann::json::parse(exported.out.substr(0, exported.out.find('\n')));
      ASSERT_TRUE(first.at("prompt_ids").is_array());
      EXPECT_GT(first.at("answer_ids").size(), 0u);
      const fs::path jsonl = dir / (task + "-" + split + ".jsonl");
      std::ofstream(jsonl) << exported.out;
      const test::ProcessResult r =
          test::run_process(LAB_PYTHON, {std::string(LAB_SOURCE_DIR) + "/python/tests/check_data.py",
                                         data.string(), split, jsonl.string()});
      EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    }
  }
}

}  // namespace lab::dataset_interop_test
