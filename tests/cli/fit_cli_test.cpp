// `lab fit` through the real binary on a results.csv written here from the fine-grained paper's law.
#include <cmath>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace lab::test {
namespace {

namespace fs = std::filesystem;

// A results.csv with the columns `lab fit` reads: loss from the paper's law, 4 x 4 x 4 runs.
void write_results(const fs::path& file, bool mixed_tasks = false) {
  std::ofstream out(file);
  out << "run_id,task,non_embedding_params,tokens,granularity,eval_loss,total_params,memorized_entries\n";
  int i = 0;
  for (double n : {1e6, 1e7, 1e8, 1e9})
    for (double d : {1e8, 1e9, 1e10, 1e11})
      for (double g : {1.0, 2.0, 4.0, 8.0}) {
        const double loss =
            0.47 + (2.1 / std::pow(g, 0.58) + 18.1) * std::pow(n, -0.115) + 30.8 * std::pow(d, -0.147);
        const char* task = mixed_tasks && i % 2 ? "connectivity" : "shortest-path";
        out << "run" << i++ << "," << task << "," << n << "," << d << "," << g << "," << loss << "," << 2 * n
            << ",\n";
      }
}

TEST(FitCli, FitsTheLawPrintsIntervalsAndTheOptimumAndDrawsPlots) {
  TempDir dir;
  write_results(dir / "results.csv");
  ProcessResult r = run_lab(
      {"fit", dir.path().string(), "--law", "fine-grained", "--bootstrap", "20", "--optimal", "1e21"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("fine-grained law fitted to 52 runs (12 held out)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("alpha"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("95% ["), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("compute-optimal for 1e+21 FLOPs"), std::string::npos) << r.out;
  if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) {
    EXPECT_TRUE(fs::exists(dir / "plots/fit_fine-grained_observed.png"));
    EXPECT_TRUE(fs::exists(dir / "plots/fit_fine-grained_curves.svg"));
  }
}

TEST(FitCli, BadInputExitsTwoNamingTheProblem) {
  TempDir dir;
  write_results(dir / "results.csv");
  ProcessResult r = run_lab({"fit", (dir / "results.csv").string(), "--law", "power", "--no-plots"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("run run0 has no memorized_entries"), std::string::npos) << r.err;
  r = run_lab({"fit", (dir / "missing.csv").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missing.csv: cannot open"), std::string::npos) << r.err;
  r = run_lab({"fit", (dir / "results.csv").string(), "--task", "phonebook"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no runs of task phonebook"), std::string::npos) << r.err;

  TempDir mixed;
  write_results(mixed / "results.csv", /*mixed_tasks=*/true);
  r = run_lab({"fit", mixed.path().string(), "--no-plots"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("mix tasks"), std::string::npos) << r.err;
  r = run_lab({"fit", mixed.path().string(), "--task", "connectivity", "--no-plots", "--bootstrap", "0"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace lab::test
