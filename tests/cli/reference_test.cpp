// The committed reference results (reference/<task>/) are regenerable: `lab report` on the
// committed run files (config, run, probe and metrics of every run; checkpoints are not committed)
// writes the committed results.csv (and granularity.csv, where there is one) byte for byte.

#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/files.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace lab::test {
namespace {

namespace fs = std::filesystem;

TEST(ReferenceResults, LabReportRegeneratesEveryCommittedCsv) {
  const fs::path reference = fs::path(LAB_SOURCE_DIR) / "reference";
  int checked = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(reference)) {
    const fs::path committed_csv = entry.path() / "results.csv";
    if (!entry.is_directory() || !fs::exists(entry.path() / "runs") || !fs::exists(committed_csv)) continue;
    SCOPED_TRACE(entry.path().string());
    TempDir dir;
    fs::copy(entry.path() / "runs", dir / "runs", fs::copy_options::recursive);
    ProcessResult r = run_lab({"report", dir.path().string(), "--no-plots"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_text(dir / "results.csv"), read_text(committed_csv));
    if (fs::exists(entry.path() / "granularity.csv")) {  // the wall-clock table of a granularity sweep
      EXPECT_EQ(read_text(dir / "granularity.csv"), read_text(entry.path() / "granularity.csv"));
    }
    ++checked;
  }
  EXPECT_GE(checked, 1) << "no reference/<task>/ with runs/ and results.csv";
}

// Run ids are what makes `lab run` skip finished runs: every committed reference run must still be a
// run of its shipped preset, under the same id (a refactor that changed what the id hashes would
// silently re-train every grid).
TEST(ReferenceResults, EveryCommittedRunIsStillARunOfItsPresetUnderTheSameId) {
  const fs::path reference = fs::path(LAB_SOURCE_DIR) / "reference";
  std::map<std::string, std::set<std::string>> ids_by_preset;
  for (const fs::directory_entry& entry : fs::directory_iterator(reference)) {
    if (!fs::is_directory(entry.path() / "runs")) continue;
    for (const fs::directory_entry& run : fs::directory_iterator(entry.path() / "runs")) {
      const nlohmann::json info = nlohmann::json::parse(read_text(run.path() / "run.json"));
      ids_by_preset[info.at("preset").get<std::string>()].insert(run.path().filename().string());
    }
  }
  ASSERT_FALSE(ids_by_preset.empty());
  for (const auto& [preset, ids] : ids_by_preset) {
    ProcessResult r = run_lab({"run", preset, "--dry-run"});
    ASSERT_EQ(r.exit_code, 0) << preset << ": " << r.err;
    for (const std::string& id : ids)
      EXPECT_NE(r.out.find(id + " "), std::string::npos) << preset << ": " << id;
  }
}

}  // namespace
}  // namespace lab::test
