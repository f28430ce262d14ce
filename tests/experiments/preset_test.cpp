// Presets: grid expansion counted by hand, stable run ids, and every kind of bad preset reported with
// its file, line and key before anything runs.
#include "experiments/preset.h"

#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/support/temp_dir.h"

namespace lab {
namespace {

namespace fs = std::filesystem;

fs::path write(const test::TempDir& dir, const std::string& text, const std::string& name = "p.toml") {
  fs::path file = dir / name;
  std::ofstream(file) << text;
  return file;
}

const char* kGrid = R"(name = "grid"
seeds = [0, 1]

[train]
steps = [10, 20]
lr = 1e-3

[model]
layers = 2

[[tasks]]
task = "phonebook"
entries = [100, 1e3]

[[tasks]]
task = "connectivity"
count = 500
nodes_max = 10
train = { steps = 5 }

[[models]]
family = "dense"
d_model = [16, 32, 64]

[[models]]
family = "moe"
d_model = 16
experts = [2, 4]
top_k = 1
)";

TEST(Preset, ExpandsTheGridAsTheCartesianProductOfEveryList) {
  test::TempDir dir;
  Preset p = load_preset(write(dir, kGrid));
  EXPECT_EQ(p.name, "grid");
  // phonebook: 2 sizes x (3 dense + 2 moe) x 2 step budgets x 2 seeds = 40;
  // connectivity: 1 x 5 x 1 (its train table fixes steps) x 2 = 10.
  ASSERT_EQ(p.runs.size(), 50u);
  std::set<std::string> ids;
  int moe = 0, five_steps = 0;
  for (const RunSpec& r : p.runs) {
    ids.insert(r.id);
    EXPECT_EQ(r.model.layers, 2);
    EXPECT_DOUBLE_EQ(r.train.schedule.peak_lr, 1e-3);
    if (r.model.is_moe()) {
      ++moe;
      EXPECT_EQ(r.family, "moe");
      EXPECT_EQ(r.model.top_k, 1);
    }
    if (r.data.task == TaskKind::connectivity) {
      EXPECT_EQ(r.train.steps, 5);
      EXPECT_EQ(r.data.graph.train_count, 500u);
      EXPECT_EQ(r.data.graph.nodes_max, 10);
      ++five_steps;
    } else {
      EXPECT_TRUE(r.data.book.entries == 100 || r.data.book.entries == 1000);
      EXPECT_TRUE(r.train.steps == 10 || r.train.steps == 20);
    }
  }
  EXPECT_EQ(ids.size(), 50u);  // every run has its own directory
  EXPECT_EQ(moe, 2 * 2 * 2 * 2 + 2 * 2);
  EXPECT_EQ(five_steps, 10);
}

TEST(Preset, RunIdsAreStableAndChangeOnlyWithTheirOwnSettings) {
  test::TempDir dir;
  Preset a = load_preset(write(dir, kGrid, "a.toml"));
  Preset b = load_preset(write(dir, kGrid, "b.toml"));
  ASSERT_EQ(a.runs.size(), b.runs.size());
  for (std::size_t i = 0; i < a.runs.size(); ++i) EXPECT_EQ(a.runs[i].id, b.runs[i].id);
  // Changing the MoE family's top_k changes only the MoE runs' ids.
  std::string edited = kGrid;
  edited.replace(edited.find("top_k = 1"), 9, "top_k = 2");
  Preset c = load_preset(write(dir, edited, "c.toml"));
  for (std::size_t i = 0; i < a.runs.size(); ++i) {
    EXPECT_EQ(a.runs[i].id == c.runs[i].id, !a.runs[i].model.is_moe()) << a.runs[i].id;
  }
}

// The message of loading `text`, which must fail.
std::string error_of(const std::string& text) {
  test::TempDir dir;
  try {
    load_preset(write(dir, text, "bad.toml"));
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return "";
}

const char* kModels = "\n[[models]]\nd_model = 16\n";
const char* kTask = "[[tasks]]\ntask = \"phonebook\"\nentries = 100\n";

TEST(PresetErrors, UnknownKeyNamesFileLineAndKey) {
  std::string m = error_of(std::string(kTask) + "entires = 5\n" + kModels);
  EXPECT_NE(m.find("bad.toml:4:"), std::string::npos) << m;
  EXPECT_NE(m.find("unknown key 'entires'"), std::string::npos) << m;
  m = error_of(std::string("[train]\nstesp = 3\n") + kTask + kModels);
  EXPECT_NE(m.find("bad.toml:2:"), std::string::npos) << m;
  EXPECT_NE(m.find("'stesp'"), std::string::npos) << m;
  m = error_of(std::string("colour = 1\n") + kTask + kModels);
  EXPECT_NE(m.find("bad.toml:1:"), std::string::npos) << m;
}

TEST(PresetErrors, WrongTypeNamesFileLineAndKey) {
  std::string m = error_of(std::string(kTask) + kModels + "layers = \"two\"\n");
  EXPECT_NE(m.find("bad.toml:7:"), std::string::npos) << m;
  EXPECT_NE(m.find("'layers' must be a whole number"), std::string::npos) << m;
  m = error_of(std::string("[train]\nbf16 = 1\n") + kTask + kModels);
  EXPECT_NE(m.find("bad.toml:2:"), std::string::npos) << m;
  EXPECT_NE(m.find("'bf16' must be true or false"), std::string::npos) << m;
  m = error_of(std::string(kTask) + "\n[[models]]\nd_model = 16.5\n");
  EXPECT_NE(m.find("'d_model' must be a whole number"), std::string::npos) << m;
}

TEST(Preset, PredictionsNotesAndPromptFormat) {
  test::TempDir dir;
  Preset p = load_preset(write(dir, std::string("predictions = true\nnotes = [\"one\", \"two\"]\n") +
                                        "[[tasks]]\ntask = \"shortest-path\"\nprompt_format = [1, 2]\n" +
                                        "[[models]]\nfamily = \"dense\"\nd_model = 16\n"));
  EXPECT_TRUE(p.predictions);
  EXPECT_EQ(p.notes, (std::vector<std::string>{"one", "two"}));
  ASSERT_EQ(p.runs.size(), 2u);
  EXPECT_EQ(p.runs[0].data.graph.prompt_format, 1);
  EXPECT_EQ(p.runs[1].data.graph.prompt_format, 2);
  EXPECT_NE(p.runs[0].data.id(), p.runs[1].data.id()) << "the format is part of the dataset's identity";
  Preset plain = load_preset(write(dir, std::string(kGrid), "plain.toml"));
  EXPECT_FALSE(plain.predictions);
  EXPECT_TRUE(plain.notes.empty());
  for (const RunSpec& run : plain.runs) {
    if (run.data.task != TaskKind::phonebook) {
      EXPECT_EQ(run.data.graph.prompt_format, 2) << "format 2 by default";
    }
  }
}

TEST(PresetErrors, PredictionsNotesAndPromptFormatOfTheWrongKind) {
  std::string m = error_of(std::string("predictions = 1\n") + kTask + kModels);
  EXPECT_NE(m.find("bad.toml:1:"), std::string::npos) << m;
  EXPECT_NE(m.find("'predictions' must be true or false"), std::string::npos) << m;
  m = error_of(std::string("notes = \"a line\"\n") + kTask + kModels);
  EXPECT_NE(m.find("'notes' must be a list of strings"), std::string::npos) << m;
  m = error_of(std::string("notes = [1]\n") + kTask + kModels);
  EXPECT_NE(m.find("'notes' must be a string"), std::string::npos) << m;
  m = error_of("[[tasks]]\ntask = \"connectivity\"\nprompt_format = 3\n" + std::string(kModels));
  EXPECT_NE(m.find("'prompt_format' must be between 1 and 2"), std::string::npos) << m;
  m = error_of(std::string(kTask) + "prompt_format = 2\n" + kModels);
  EXPECT_NE(m.find("prompt_format"), std::string::npos) << m << " (a graph key in a phone-book task)";
}

TEST(PresetErrors, OutOfRangeValuesNameFileLineAndKey) {
  std::string m = error_of(std::string("[train]\nlr = -1\n") + kTask + kModels);
  EXPECT_NE(m.find("bad.toml:2:"), std::string::npos) << m;
  EXPECT_NE(m.find("'lr' must be positive, got -1"), std::string::npos) << m;
  m = error_of(std::string("[[tasks]]\ntask = \"connectivity\"\nnodes_min = 12\nnodes_max = 8\n") + kModels);
  EXPECT_NE(m.find("bad.toml:1:"), std::string::npos) << m;
  EXPECT_NE(m.find("nodes"), std::string::npos) << m;
  m = error_of(std::string(kTask) + "\n[[models]]\nd_model = 16\nheads = 3\n");
  EXPECT_NE(m.find("bad.toml:5:"), std::string::npos) << m;
  EXPECT_NE(m.find("heads (3) must divide d_model (16)"), std::string::npos) << m;
  m = error_of(std::string(kTask) + "\n[[models]]\nexperts = 4\ntop_k = 8\n");
  EXPECT_NE(m.find("top_k"), std::string::npos) << m;
  m = error_of(std::string("seeds = [-1]\n") + kTask + kModels);
  EXPECT_NE(m.find("bad.toml:1:"), std::string::npos) << m;
}

TEST(PresetErrors, UnknownTaskAndMisplacedTaskKeys) {
  std::string m = error_of(std::string("[[tasks]]\ntask = \"sorting\"\n") + kModels);
  EXPECT_NE(m.find("bad.toml:2:"), std::string::npos) << m;
  EXPECT_NE(m.find("unknown task \"sorting\""), std::string::npos) << m;
  m = error_of(std::string("[[tasks]]\ntask = \"connectivity\"\nentries = 5\n") + kModels);
  EXPECT_NE(m.find("bad.toml:3:"), std::string::npos) << m;
  EXPECT_NE(m.find("'entries' is a phonebook key"), std::string::npos) << m;
  m = error_of(std::string("[[tasks]]\nentries = 5\n") + kModels);
  EXPECT_NE(m.find("needs task ="), std::string::npos) << m;
}

TEST(Preset, TwoHopTasksTakeVerticesAndAnIntegerDegree) {
  test::TempDir dir;
  Preset p = load_preset(write(dir, std::string("[[tasks]]\ntask = \"two-hop\"\nvertices = [16, 32]\n"
                                                "count = 5000\ntest_count = 200\nseed = 4\n") +
                                        kModels));
  ASSERT_EQ(p.runs.size(), 2u);
  for (const RunSpec& run : p.runs) {
    EXPECT_EQ(run.data.task, TaskKind::two_hop);
    EXPECT_EQ(run.data.two_hop.train_count, 5000u);
    EXPECT_EQ(run.data.two_hop.test_count, 200u);
    EXPECT_EQ(run.data.two_hop.seed, 4u);
    EXPECT_EQ(run.data.train_count(), 5000u);
    EXPECT_EQ(run.data.generator()->task(), TaskKind::two_hop);
  }
  EXPECT_EQ(p.runs[0].data.two_hop.vertices, 16);
  EXPECT_EQ(p.runs[1].data.two_hop.vertices, 32);
  EXPECT_EQ(p.runs[1].data.parameters().at("degree"), 4) << "the resolved degree identifies the data";
  EXPECT_EQ(p.runs[0].data.label(), "two-hop, 16 vertices, 5000 examples");
  EXPECT_NE(p.runs[0].data.id(), p.runs[1].data.id());
  Preset d = load_preset(
      write(dir, std::string("[[tasks]]\ntask = \"two-hop\"\ndegree = 3\nvertices = 24\n") + kModels,
            "degree.toml"));
  EXPECT_EQ(d.runs[0].data.two_hop.degree, 3);
  EXPECT_EQ(d.runs[0].data.two_hop.train_count, 100'000u) << "presets default to 1e5 examples";
}

TEST(PresetErrors, TwoHopKeysAndRanges) {
  std::string m = error_of(std::string("[[tasks]]\ntask = \"two-hop\"\nnodes_max = 10\n") + kModels);
  EXPECT_NE(m.find("bad.toml:3:"), std::string::npos) << m;
  EXPECT_NE(m.find("'nodes_max' is a shortest-path and connectivity key"), std::string::npos) << m;
  m = error_of(std::string("[[tasks]]\ntask = \"shortest-path\"\nvertices = 16\n") + kModels);
  EXPECT_NE(m.find("'vertices' is a two-hop key"), std::string::npos) << m;
  m = error_of(std::string("[[tasks]]\ntask = \"two-hop\"\nvertices = 17\n") + kModels);
  EXPECT_NE(m.find("--vertices must be even"), std::string::npos) << m;
  m = error_of(std::string("[[tasks]]\ntask = \"two-hop\"\ndegree = 1.5\n") + kModels);
  EXPECT_NE(m.find("'degree' must be a whole number"), std::string::npos) << m;
  m = error_of(std::string("[[tasks]]\ntask = \"two-hop\"\nvertices = 16\ndegree = 5\n") + kModels);
  EXPECT_NE(m.find("--degree (5) must be at most"), std::string::npos) << m;
}

TEST(PresetErrors, SyntaxErrorsEmptyListsAndMissingSections) {
  std::string m = error_of("[[tasks]\ntask = \"phonebook\"\n");
  EXPECT_NE(m.find("bad.toml:1:"), std::string::npos) << m;
  m = error_of(std::string(kTask) + "\n[[models]]\nd_model = []\n");
  EXPECT_NE(m.find("empty list"), std::string::npos) << m;
  m = error_of(kTask);
  EXPECT_NE(m.find("no [[models]]"), std::string::npos) << m;
  m = error_of(std::string(kModels));
  EXPECT_NE(m.find("no [[tasks]]"), std::string::npos) << m;
  m = error_of(std::string(kTask) + "\n[[models]]\nd_model = [16, 16]\n");
  EXPECT_NE(m.find("identical"), std::string::npos) << m;
}

TEST(Preset, ShippedPresetsAllLoad) {
  auto files = shipped_presets();
  ASSERT_FALSE(files.empty());
  bool smoke = false;
  for (const fs::path& file : files) {
    Preset p = load_preset(file);
    EXPECT_FALSE(p.runs.empty()) << file;
    smoke = smoke || p.name == "smoke";
  }
  EXPECT_TRUE(smoke);
  EXPECT_THROW(find_preset("no-such-preset"), Error);
  EXPECT_EQ(find_preset("smoke").stem(), "smoke");
}

// `lab run PRESET KEY=VALUE ...`: the same runs as the edited file, errors named by the key.
TEST(PresetOverrides, GiveTheRunsOfTheEditedFileAndTheResolvedTomlRepeatsThem) {
  test::TempDir dir;
  std::string edited = kGrid;
  edited.replace(edited.find("seeds = [0, 1]"), 14, "seeds = [3]");
  edited.replace(edited.find("steps = [10, 20]"), 16, "steps = 7");
  edited.replace(edited.find("d_model = [16, 32, 64]"), 22, "d_model = [8, 24]");
  edited.replace(edited.find("layers = 2"), 10, "layers = 2\nnorm = \"rms_norm\"");
  const Preset by_file = load_preset(write(dir, edited, "edited.toml"));
  const Preset by_overrides = load_preset(
      write(dir, kGrid), {"seeds=[3]", "train.steps=7", "models.0.d_model=[8, 24]", "model.norm=rms_norm"});
  auto ids = [](const Preset& p) {
    std::vector<std::string> out;
    for (const RunSpec& r : p.runs) out.push_back(r.id);
    return out;
  };
  ASSERT_EQ(by_overrides.runs.size(), (2 * (2 + 2) + 1 * (2 + 2)) * 1u);
  EXPECT_EQ(ids(by_overrides), ids(by_file));
  // The resolved TOML, read as a preset of its own, gives the same runs again.
  const Preset again = load_preset(write(dir, by_overrides.resolved_toml, "resolved.toml"));
  EXPECT_EQ(ids(again), ids(by_file));
  EXPECT_NE(by_overrides.resolved_toml.find("with seeds=[3] train.steps=7"), std::string::npos)
      << by_overrides.resolved_toml;
}

TEST(PresetOverrides, BadOnesAreReportedAsCmdlineKey) {
  test::TempDir dir;
  const fs::path file = write(dir, kGrid);
  auto message = [&](const std::string& override_text) {
    try {
      load_preset(file, {override_text});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(message("train.stepz=5").rfind("cmdline: train.stepz: unknown key 'stepz' in [train]", 0), 0u)
      << message("train.stepz=5");
  EXPECT_EQ(message("train.steps=abc"), "cmdline: train.steps: 'steps' must be a whole number, got \"abc\"");
  EXPECT_EQ(message("train.steps=[1,").rfind("cmdline: train.steps: '[1,' is not a TOML value", 0), 0u);
  EXPECT_EQ(message("models.x.d_model=8"),
            "cmdline: models.x.d_model: 'models.x' is not an entry of the preset's models (0 to 1)");
  EXPECT_EQ(message("models.2.d_model=8"),
            "cmdline: models.2.d_model: 'models.2' is not an entry of the preset's models (0 to 1)");
  EXPECT_EQ(message("name.x=1"), "cmdline: name.x: 'name' is a value in the preset, not a table");
  EXPECT_EQ(message("models.x=1"), "cmdline: models.x: 'models' is a list in the preset, not a table");
  EXPECT_EQ(message("seeds.0.x=1"), "cmdline: seeds.0.x: 'seeds.0' is a value in the preset, not a table");
  EXPECT_EQ(message("steps").rfind("cmdline: steps: expected KEY=VALUE", 0), 0u);
  // A misspelt section is reported as the override's, not as the file's.
  EXPECT_EQ(message("trian.steps=5").rfind("cmdline: trian.steps: unknown top-level key 'trian'", 0), 0u)
      << message("trian.steps=5");
  EXPECT_EQ(message("train..steps=1").rfind("cmdline: train..steps: an empty part in the key", 0), 0u);
  EXPECT_EQ(message("models.0.d_model=-4").rfind("cmdline: models.0.d_model: 'd_model' must be", 0), 0u)
      << message("models.0.d_model=-4");
  EXPECT_EQ(message("seeds=[0.5]").rfind("cmdline: seeds: 'seeds' must be a whole number", 0), 0u)
      << message("seeds=[0.5]");
}

}  // namespace
}  // namespace lab
