// `lab verify`, `lab export` and `lab inspect` on datasets that `lab gen` wrote, run as a subprocess
// exactly as a user runs them: damaged datasets are reported by file name; exports parse as JSON
// with the documented fields; inspect's counts and distributions.
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

// A small dataset of `task` in `dir`, generated quietly; fails the test if `lab gen` fails.
void generate(const std::string& task, const fs::path& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"gen", task, "--out", dir.string(), "-q", "--seed", "3"};
  if (task == "phonebook") {
    extra = concat({"--entries", "2000", "--test-count", "50", "--control-count", "40"}, extra);
  } else {
    extra = concat({"--count", "500", "--test-count", "60"}, extra);
  }
  ProcessResult r = run_lab(concat(args, extra));
  ASSERT_EQ(r.exit_code, 0) << joined(concat(args, extra)) << "\n" << r.err;
  ASSERT_TRUE(fs::exists(dir / "manifest.json"));
}

TEST(DatasetCli, VerifyAcceptsAGoodDatasetAndNamesEveryDamagedFile) {
  TempDir tmp;
  const fs::path dir = tmp / "data";
  generate("shortest-path", dir);
  ProcessResult r = run_lab({"verify", dir.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ok"), std::string::npos) << r.out;

  struct Damage {
    std::string file;
    bool checksum_only;  // sizes and bounds still hold: only `lab verify` can see it
    bool also_readers;   // also run `lab export` (and `lab inspect` once) on it: process starts are slow
    std::function<void()> apply;
  };
  std::map<std::string, std::string> original;
  for (const std::string& name : entries(dir)) original[name] = read_text(dir / name);
  const std::string& tokens = original.at("train.tokens");
  const Damage damages[] = {
      {"train.tokens", false, true,
       [&] { write_text(dir / "train.tokens", tokens.substr(0, tokens.size() - 2)); }},
      {"train.tokens", true, true,
       [&] {
         std::string flipped = tokens;
         std::size_t at = flipped.size() / 2 & ~std::size_t{1};
         while (static_cast<unsigned char>(flipped[at]) < 8) at += 2;  // a label token: its id stays valid
         flipped[at] = static_cast<char>(flipped[at] ^ 1);
         write_text(dir / "train.tokens", flipped);
       }},
      {"test.index", false, false,
       [&] {
         std::string flipped = original.at("test.index");
         flipped[16] = static_cast<char>(flipped[16] ^ 4);  // the second record's offset
         write_text(dir / "test.index", flipped);
       }},
      {"manifest.json", false, true,
       [&] {
         auto edited = nlohmann::json::parse(original.at("manifest.json"));
         edited["splits"]["test"]["count"] = 59;
         write_text(dir / "manifest.json", edited.dump(2));
       }},
      {"test.tokens", false, false, [&] { fs::remove(dir / "test.tokens"); }},
      {"manifest.json", false, true, [&] { fs::remove(dir / "manifest.json"); }},
  };
  for (const Damage& damage : damages) {
    damage.apply();
    r = run_lab({"verify", dir.string()});
    EXPECT_EQ(r.exit_code, 2) << damage.file << "\n" << r.err;
    EXPECT_NE(r.err.find((dir / damage.file).string()), std::string::npos) << r.err;
    // Every reader reports the damage the same way; none crashes.
    std::vector<std::vector<std::string>> readers;
    if (damage.also_readers) readers.push_back({"export", dir.string(), "--split", "train"});
    if (&damage == &damages[0]) readers.push_back({"inspect", dir.string()});
    for (const std::vector<std::string>& reader : readers) {
      ProcessResult read = run_lab(reader);
      EXPECT_EQ(read.exit_code, damage.checksum_only ? 0 : 2) << reader[0] << " " << damage.file << "\n"
                                                              << read.err;
      if (!damage.checksum_only) {
        EXPECT_NE(read.err.find((dir / damage.file).string()), std::string::npos) << read.err;
      }
    }
    if (damage.checksum_only) {
      // Export prints it but says it did not verify; with --verify, and when training, it is refused.
      ProcessResult exported = run_lab({"export", dir.string(), "--split", "train", "--limit", "2"});
      EXPECT_NE(exported.err.find("not verified"), std::string::npos) << exported.err;
      for (const std::vector<std::string>& refuser :
           {std::vector<std::string>{"export", dir.string(), "--verify"},
            std::vector<std::string>{"train", "--data", dir.string(), "--out", (tmp / "run").string(),
                                     "--steps", "1", "--d-model", "8", "--layers", "1", "--heads", "1"}}) {
        ProcessResult refused = run_lab(refuser);
        EXPECT_EQ(refused.exit_code, 2) << refuser[0] << "\n" << refused.err;
        EXPECT_NE(refused.err.find((dir / damage.file).string()), std::string::npos) << refused.err;
        EXPECT_NE(refused.err.find("checksum"), std::string::npos) << refused.err;
      }
      EXPECT_FALSE(fs::exists(tmp / "run")) << "training that did not start left a run directory";
    }
    for (const auto& [name, bytes] : original) write_text(dir / name, bytes);
  }
  r = run_lab({"verify", tmp.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(tmp.path().string()), std::string::npos) << r.err;
}

TEST(DatasetCli, ExportJsonlHasTheDocumentedFields) {
  TempDir tmp;
  generate("shortest-path", tmp / "sp");
  generate("shortest-path", tmp / "sp1", {"--prompt-format", "1"});  // a format-1 dataset still exports
  generate("connectivity", tmp / "c");
  generate("phonebook", tmp / "p");

  for (int format : {2, 1}) {
    SCOPED_TRACE(format);
    ProcessResult r = run_lab(
        {"export", (tmp / (format == 2 ? "sp" : "sp1")).string(), "--split", "test", "--format", "jsonl"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::istringstream lines(r.out);
    std::string line;
    int n = 0;
    for (; std::getline(lines, line); ++n) {
      nlohmann::json j = nlohmann::json::parse(line);
      EXPECT_EQ(j.at("index"), n);
      const std::string prompt = j.at("prompt"), answer = j.at("answer");
      EXPECT_EQ(prompt.rfind("<bos> ", 0), 0u) << prompt;
      EXPECT_TRUE(prompt.ends_with(" <sep>")) << prompt;
      EXPECT_TRUE(answer.ends_with(" <eos>")) << answer;
      const int s = j.at("source"), t = j.at("target");
      auto edges = j.at("edges").get<std::vector<std::pair<int, int>>>();
      auto path = j.at("path").get<std::vector<int>>();
      ASSERT_GE(path.size(), 2u);
      EXPECT_EQ(path.front(), s);
      EXPECT_EQ(path.back(), t);
      // The text prompt lists the same edges and query as the integer fields, each edge behind <e>
      // in format 2.
      std::string expected = "<bos>";
      for (auto [u, v] : edges) {
        if (format == 2) expected.append(" <e>");
        expected.append(" ").append(std::to_string(u)).append(" ").append(std::to_string(v));
      }
      expected.append(" <q> ")
          .append(std::to_string(s))
          .append(" ")
          .append(std::to_string(t))
          .append(" <sep>");
      EXPECT_EQ(prompt, expected);
      for (std::size_t k = 0; k + 1 < path.size(); ++k) {
        bool edge = std::any_of(edges.begin(), edges.end(), [&](auto e) {
          return (e.first == path[k] && e.second == path[k + 1]) ||
                 (e.first == path[k + 1] && e.second == path[k]);
        });
        EXPECT_TRUE(edge) << line;
      }
    }
    EXPECT_EQ(n, 60);
  }

  ProcessResult r = run_lab({"export", (tmp / "c").string(), "--split", "train", "--limit", "25"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  int n = 0;
  for (n = 0; std::getline(lines, line); ++n) {
    nlohmann::json j = nlohmann::json::parse(line);
    EXPECT_TRUE(j.at("connected").is_boolean());
    EXPECT_EQ(j.at("answer"), j.at("connected").get<bool>() ? "<yes> <eos>" : "<no> <eos>");
    EXPECT_TRUE(j.at("edges").is_array());
    EXPECT_TRUE(j.at("source").is_number_integer());
  }
  EXPECT_EQ(n, 25);

  for (const char* split : {"test", "control"}) {
    r = run_lab({"export", (tmp / "p").string(), "--split", split, "--format", "jsonl", "--limit", "1e2"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    lines = std::istringstream(r.out);
    for (n = 0; std::getline(lines, line); ++n) {
      nlohmann::json j = nlohmann::json::parse(line);
      const std::string name = j.at("name"), number = j.at("number");
      EXPECT_TRUE(std::regex_match(name, std::regex("[A-Z][a-z]+ [A-Z][a-z]+"))) << line;
      EXPECT_TRUE(std::regex_match(number, std::regex("[6-9][0-9]{9}"))) << line;
      EXPECT_EQ(j.at("prompt"), std::string("<bos>").append(name).append(":<sep>"));
      EXPECT_EQ(j.at("answer"), std::string(number).append("<eos>"));
    }
    EXPECT_EQ(n, std::string(split) == "control" ? 40 : 50) << split;
  }

  r = run_lab({"export", (tmp / "sp").string(), "--format", "text", "--limit", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3);
  EXPECT_NE(r.out.find(" <sep> => "), std::string::npos) << r.out;

  r = run_lab({"export", (tmp / "sp").string(), "--split", "control"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("control"), std::string::npos) << r.err;
  r = run_lab({"export", (tmp / "sp").string(), "--format", "xml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--format"), std::string::npos) << r.err;
}

TEST(DatasetCli, TwoHopExportCarriesTheEdgesTheQueryAndTheMiddleAsIntegers) {
  TempDir tmp;
  generate("two-hop", tmp / "h", {"--vertices", "24"});
  ProcessResult r = run_lab({"export", (tmp / "h").string(), "--split", "test", "--format", "jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  int n = 0, with_middle = 0;
  for (; std::getline(lines, line); ++n) {
    nlohmann::json j = nlohmann::json::parse(line);
    const int s = j.at("source"), t = j.at("target");
    auto edges = j.at("edges").get<std::vector<std::pair<int, int>>>();
    EXPECT_EQ(edges.size(), 12u * 3u) << line;  // 12 ends of 24 / 8 = 3 middles each
    std::vector<int> shared;
    for (int w = 0; w < 24; ++w) {
      auto joined_to = [&](int a) {
        return std::any_of(edges.begin(), edges.end(), [&](auto e) {
          return (e.first == a && e.second == w) || (e.first == w && e.second == a);
        });
      };
      if (joined_to(s) && joined_to(t)) shared.push_back(w);
    }
    ASSERT_LE(shared.size(), 1u) << line;
    if (shared.empty()) {
      EXPECT_TRUE(j.at("middle").is_null()) << line;
      EXPECT_EQ(j.at("answer"), "<no> <eos>");
    } else {
      ++with_middle;
      EXPECT_EQ(j.at("middle"), shared[0]) << line;
      EXPECT_EQ(j.at("answer"), std::to_string(shared[0]) + " <eos>");
    }
  }
  EXPECT_EQ(n, 60);
  EXPECT_GT(with_middle, 10);
  EXPECT_LT(with_middle, 50);

  r = run_lab({"inspect", (tmp / "h").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("task: two-hop"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("labels: one shared middle"), std::string::npos) << r.out;
  r = run_lab({"verify", (tmp / "h").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(DatasetCli, InspectReportsCountsAndDistributions) {
  TempDir tmp;
  generate("connectivity", tmp / "c");

  ProcessResult r = run_lab({"inspect", (tmp / "c").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("split train: 500 examples"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("split test: 60 examples"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("labels: connected"), std::string::npos) << r.out;

  r = run_lab({"inspect", (tmp / "c").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json stats = nlohmann::json::parse(r.out);
  EXPECT_EQ(stats.at("task"), "connectivity");
  EXPECT_EQ(stats.at("splits").at("train").at("count"), 500);
  EXPECT_EQ(stats.at("splits").at("test").at("count"), 60);
  EXPECT_EQ(stats.at("disjointness").at(0).at("shared_prompts"), 0);

  // The label counts agree with the exported answers.
  ProcessResult exported = run_lab({"export", (tmp / "c").string(), "--split", "test"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  int connected = 0, total = 0;
  std::istringstream lines(exported.out);
  for (std::string line; std::getline(lines, line); ++total) {
    connected += nlohmann::json::parse(line).at("connected").get<bool>();
  }
  EXPECT_EQ(total, 60);
  EXPECT_EQ(stats["splits"]["test"]["connected"], connected);
  EXPECT_EQ(stats["splits"]["test"]["not_connected"], 60 - connected);
  EXPECT_GT(connected, 10);
  EXPECT_LT(connected, 50);

  r = run_lab({"inspect", (tmp / "nothing").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find((tmp / "nothing").string()), std::string::npos) << r.err;
}

TEST(DatasetCli, InspectNamesThePromptFormatAndCountsEdgesInEither) {
  TempDir tmp;
  for (int format : {1, 2}) {
    SCOPED_TRACE(format);
    const fs::path dir = tmp / ("sp" + std::to_string(format));
    generate("shortest-path", dir, {"--prompt-format", std::to_string(format)});
    ProcessResult r = run_lab({"inspect", dir.string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json stats = nlohmann::json::parse(r.out);
    EXPECT_EQ(stats.at("prompt_format"), format);
    EXPECT_EQ(stats.at("parameters").at("prompt_format"), format);
    // The edge histogram agrees with the exported edge lists.
    std::map<int, int> edges;
    ProcessResult exported = run_lab({"export", dir.string(), "--split", "test"});
    ASSERT_EQ(exported.exit_code, 0) << exported.err;
    std::istringstream lines(exported.out);
    for (std::string line; std::getline(lines, line);)
      ++edges[nlohmann::json::parse(line).at("edges").size()];
    std::map<int, int> histogram;
    for (const auto& pair : stats.at("splits").at("test").at("edges_histogram")) histogram[pair[0]] = pair[1];
    EXPECT_EQ(histogram, edges);
    r = run_lab({"inspect", dir.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("prompt format: " + std::to_string(format)), std::string::npos) << r.out;
  }
}

}  // namespace
}  // namespace lab::test
