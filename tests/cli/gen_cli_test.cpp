// `lab gen`, run as a subprocess exactly as a user runs it: bad input exits 2 naming the flag or file
// and leaves nothing behind; counts take 1e6; the bytes do not depend on the thread count. The
// commands that read datasets: dataset_cli_test.cpp.
#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/files.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace lab::test {
namespace {

namespace fs = std::filesystem;

TEST(GenCli, BadInputsExitTwoNamingTheFlagAndLeaveNothingBehind) {
  TempDir tmp;
  write_text(tmp / "first.txt", "Ada\nBo\n");
  write_text(tmp / "last.txt", "Ng\nOk\nUm\n");  // 2 x 3 = 6 names
  const std::string out = (tmp / "out").string();
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> expected;  // in stderr
  };
  // Each case costs a process start (~0.7 s with LibTorch loaded); the library tests cover more values.
  const Case cases[] = {
      {{"shortest-path", "--nodes-min", "12", "--nodes-max", "10"}, {"--nodes-min", "--nodes-max"}},
      {{"shortest-path", "--node-tokens", "8"}, {"--node-tokens", "--nodes-max"}},
      {{"connectivity", "--degree", "0"}, {"--degree"}},
      {{"shortest-path", "--prompt-format", "3"}, {"--prompt-format"}},
      {{"shortest-path", "--degree", "-1.5"}, {"--degree"}},
      {{"shortest-path", "--count", "0"}, {"--count"}},
      {{"connectivity", "--count", "1e12"}, {"--count"}},
      {{"shortest-path", "--count", "abc"}, {"--count", "abc"}},
      {{"phonebook", "--entries", "0"}, {"--entries"}},
      {{"phonebook", "--entries", "100", "--test-count", "101"}, {"--test-count", "--entries"}},
      {{"phonebook", "--entries", "5", "--test-count", "1", "--control-count", "2", "--first-names",
        (tmp / "first.txt").string(), "--last-names", (tmp / "last.txt").string()},
       {"--entries", "name space"}},
      {{"phonebook", "--first-names", (tmp / "first.txt").string()}, {"--first-names", "--last-names"}},
      // Complete graphs are never disconnected: half the examples cannot be drawn.
      {{"connectivity", "--nodes-min", "6", "--nodes-max", "6", "--degree", "5"}, {"--degree"}},
      {{"two-hop", "--vertices", "15"}, {"--vertices", "even"}},
      {{"two-hop", "--vertices", "2048"}, {"--vertices"}},
      {{"two-hop", "--vertices", "16", "--degree", "9"}, {"--degree", "middles"}},
      {{"two-hop", "--nodes-max", "10"}, {"--nodes-max"}},  // a flag of the random-graph tasks
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = concat({"gen"}, c.args);
    args = concat(args, {"--out", out, "-q"});
    ProcessResult r = run_lab(args);
    EXPECT_EQ(r.exit_code, 2) << joined(args) << "\n" << r.err;
    for (const std::string& part : c.expected) {
      EXPECT_NE(r.err.find(part), std::string::npos) << joined(args) << ": stderr lacks '" << part << "':\n"
                                                     << r.err;
    }
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
    EXPECT_EQ(entries(tmp.path()), (std::vector<std::string>{"first.txt", "last.txt"}))
        << joined(args) << " left something behind";
  }
}

TEST(GenCli, NonEmptyOutputIsRefusedUnlessForced) {
  TempDir tmp;
  fs::create_directory(tmp / "out");
  write_text(tmp / "out" / "notes.txt", "mine");
  std::vector<std::string> args = {"gen",   "shortest-path",        "--count", "100", "--test-count", "10",
                                   "--out", (tmp / "out").string(), "-q"};
  ProcessResult r = run_lab(args);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find((tmp / "out").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_EQ(read_text(tmp / "out" / "notes.txt"), "mine");
  EXPECT_EQ(entries(tmp.path()), std::vector<std::string>{"out"});

  r = run_lab(concat(args, {"--force"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(tmp / "out" / "notes.txt"));
  EXPECT_EQ(entries(tmp / "out"), (std::vector<std::string>{"manifest.json", "test.index", "test.tokens",
                                                            "train.index", "train.tokens"}));
  EXPECT_EQ(entries(tmp.path()), std::vector<std::string>{"out"}) << "no .old or .partial directory left";

  // A regular file in the way is refused even with --force.
  write_text(tmp / "file", "x");
  r = run_lab({"gen", "connectivity", "--count", "10", "--out", (tmp / "file").string(), "--force", "-q"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find((tmp / "file").string()), std::string::npos) << r.err;
  EXPECT_EQ(read_text(tmp / "file"), "x");
}

TEST(GenCli, UnwritableDestinationsExitTwoNamingThePath) {
  // Tests may run as root, for whom permissions do not stop writes: use places nobody can write.
  TempDir tmp;
  write_text(tmp / "file", "x");
  for (const std::string& out : {(tmp / "file" / "out").string(), std::string("/proc/lab_test/out")}) {
    ProcessResult r = run_lab({"gen", "connectivity", "--count", "10", "--out", out, "-q"});
    EXPECT_EQ(r.exit_code, 2) << out << "\n" << r.err;
    EXPECT_NE(r.err.find(fs::path(out).parent_path().string()), std::string::npos) << r.err;
  }
  EXPECT_EQ(entries(tmp.path()), std::vector<std::string>{"file"});
}

TEST(GenCli, CountsAcceptExponentsAndUnderscoresAndGlobalFlagsFollowTheCommand) {
  TempDir tmp;
  ProcessResult r = run_lab({"gen", "connectivity", "--count", "1e3", "--test-count", "2e1", "--out",
                             (tmp / "a").string(), "--threads", "1", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "") << "-q after the subcommand should silence the summary";
  r = run_lab({"gen", "connectivity", "--count", "1_000", "--test-count", "20", "--out", (tmp / "b").string(),
               "--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("train"), std::string::npos) << "without -q a summary is printed:\n" << r.out;
  for (const char* dir : {"a", "b"}) {
    auto manifest = nlohmann::json::parse(read_text(tmp / dir / "manifest.json"));
    EXPECT_EQ(manifest["splits"]["train"]["count"], 1000) << dir;
    EXPECT_EQ(manifest["splits"]["test"]["count"], 20) << dir;
  }
  // Same seed and parameters: the same bytes, whatever the thread count.
  for (const char* file : {"train.tokens", "train.index", "test.tokens", "test.index", "manifest.json"}) {
    EXPECT_EQ(read_text(tmp / "a" / file), read_text(tmp / "b" / file)) << file;
  }
}

}  // namespace
}  // namespace lab::test
