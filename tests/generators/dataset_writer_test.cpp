// The dataset writer: bytes independent of the thread count, example i on disk equals example i
// generated alone, seeds matter, the manifest's sizes, checksums and disjointness claims hold when
// checked independently, and a failed write leaves nothing behind.
#include "generators/dataset_writer.h"

#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/crc32c.h"
#include "core/error.h"
#include "generators/dataset_reader.h"
#include "generators/graph_generator.h"
#include "generators/phonebook_generator.h"
#include "generators/two_hop_generator.h"
#include "tests/generators/dataset_files.h"
#include "tests/support/temp_dir.h"

namespace lab {
namespace {

namespace fs = std::filesystem;
using test::read_text;
using test::TempDir;

nlohmann::json write(const Generator& generator, const fs::path& out, int threads) {
  WriteOptions options;
  options.out = out;
  options.threads = threads;
  options.quiet = true;
  return write_dataset(generator, options);
}

std::vector<std::string> file_names(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void expect_identical_directories(const fs::path& a, const fs::path& b) {
  ASSERT_EQ(file_names(a), file_names(b));
  for (const std::string& name : file_names(a)) {
    EXPECT_TRUE(read_text(a / name) == read_text(b / name))
        << name << " differs between " << a << " and " << b;
  }
}

GraphParams graph_params(TaskKind task, std::uint64_t seed, std::uint64_t train, std::uint64_t test) {
  GraphParams p;
  p.task = task;
  p.seed = seed;
  p.train_count = train;
  p.test_count = test;
  if (task == TaskKind::connectivity) p.degree = 1.5;
  return p;
}

// Example i of every split on disk equals generator.generate(split, i) called alone, for a spread of i.
void expect_examples_match_generator(const Dataset& dataset, const Generator& generator) {
  std::vector<SplitSpec> splits = generator.splits();
  ASSERT_EQ(dataset.split_names().size(), splits.size());
  for (std::size_t s = 0; s < splits.size(); ++s) {
    const DatasetSplit& split = dataset.split(splits[s].name);
    ASSERT_EQ(split.size(), splits[s].count);
    for (std::uint64_t i = 0; i < split.size(); i = i < 50 ? i + 1 : i * 5 / 4 + 1) {
      std::vector<Token> alone;
      std::size_t prompt_length = generator.generate(s, i, alone);
      ExampleView stored = split.example(i);
      ASSERT_TRUE(std::equal(alone.begin(), alone.end(), stored.tokens.begin(), stored.tokens.end()))
          << splits[s].name << " example " << i;
      ASSERT_EQ(stored.prompt_length, prompt_length) << splits[s].name << " example " << i;
    }
    // The last example too (the end of the last block).
    std::vector<Token> alone;
    if (split.size() > 0) {
      generator.generate(s, split.size() - 1, alone);
      ExampleView last = split.example(split.size() - 1);
      EXPECT_TRUE(std::equal(alone.begin(), alone.end(), last.tokens.begin(), last.tokens.end()));
    }
  }
}

TEST(DatasetWriter, BytesDoNotDependOnTheThreadCount) {
  TempDir tmp;
  // More than one write block (32768 examples), split unevenly between threads.
  GraphGenerator shortest(graph_params(TaskKind::shortest_path, 3, 40'001, 777));
  write(shortest, tmp / "sp1", 1);
  write(shortest, tmp / "sp2", 2);
  write(shortest, tmp / "sp3", 3);
  expect_identical_directories(tmp / "sp1", tmp / "sp2");
  expect_identical_directories(tmp / "sp1", tmp / "sp3");

  GraphGenerator connectivity(graph_params(TaskKind::connectivity, 3, 5'000, 500));
  write(connectivity, tmp / "c1", 1);
  write(connectivity, tmp / "c2", 2);
  expect_identical_directories(tmp / "c1", tmp / "c2");

  TwoHopParams two_hop_params;
  two_hop_params.seed = 3;
  two_hop_params.train_count = 40'001;
  two_hop_params.vertices = 24;
  TwoHopGenerator two_hop(two_hop_params);
  write(two_hop, tmp / "h1", 1);
  write(two_hop, tmp / "h2", 2);
  write(two_hop, tmp / "h3", 3);
  expect_identical_directories(tmp / "h1", tmp / "h2");
  expect_identical_directories(tmp / "h1", tmp / "h3");

  PhonebookParams book;
  book.seed = 3;
  book.entries = 50'000;
  PhonebookGenerator phonebook(book);
  write(phonebook, tmp / "p1", 1);
  write(phonebook, tmp / "p2", 2);
  expect_identical_directories(tmp / "p1", tmp / "p2");
}

TEST(DatasetWriter, ExampleIOnDiskEqualsExampleIGeneratedAlone) {
  TempDir tmp;
  GraphGenerator shortest(graph_params(TaskKind::shortest_path, 4, 40'000, 1'000));
  write(shortest, tmp / "sp", 2);
  expect_examples_match_generator(Dataset::open(tmp / "sp"), shortest);

  GraphGenerator connectivity(graph_params(TaskKind::connectivity, 4, 3'000, 300));
  write(connectivity, tmp / "c", 2);
  expect_examples_match_generator(Dataset::open(tmp / "c"), connectivity);

  TwoHopParams two_hop_params;
  two_hop_params.seed = 4;
  two_hop_params.train_count = 3'000;
  two_hop_params.test_count = 300;
  TwoHopGenerator two_hop(two_hop_params);
  write(two_hop, tmp / "h", 2);
  expect_examples_match_generator(Dataset::open(tmp / "h"), two_hop);

  PhonebookParams book;
  book.seed = 4;
  book.entries = 20'000;
  book.test_count = 500;
  book.control_count = 700;
  PhonebookGenerator phonebook(book);
  write(phonebook, tmp / "p", 2);
  expect_examples_match_generator(Dataset::open(tmp / "p"), phonebook);
}

TEST(DatasetWriter, DifferentSeedsGiveDifferentFiles) {
  TempDir tmp;
  for (std::uint64_t seed : {7, 8}) {
    write(GraphGenerator(graph_params(TaskKind::shortest_path, seed, 2'000, 200)),
          tmp / fmt::format("sp{}", seed), 2);
    PhonebookParams book;
    book.seed = seed;
    book.entries = 2'000;
    write(PhonebookGenerator(book), tmp / fmt::format("p{}", seed), 2);
  }
  for (const char* task : {"sp", "p"}) {
    for (const char* file : {"train.tokens", "test.tokens"}) {
      EXPECT_NE(read_text(tmp / fmt::format("{}7", task) / file),
                read_text(tmp / fmt::format("{}8", task) / file))
          << task << " " << file;
    }
  }
  // Not merely shifted: most examples differ position by position.
  Dataset a = Dataset::open(tmp / "sp7"), b = Dataset::open(tmp / "sp8");
  int same = 0;
  for (std::uint64_t i = 0; i < 2'000; ++i) {
    auto x = a.split("train").example(i).tokens, y = b.split("train").example(i).tokens;
    same += std::equal(x.begin(), x.end(), y.begin(), y.end());
  }
  EXPECT_LT(same, 10);
}

std::set<std::vector<Token>> prompts(const DatasetSplit& split) {
  std::set<std::vector<Token>> out;
  for (std::uint64_t i = 0; i < split.size(); ++i) {
    auto prompt = split.example(i).prompt();
    out.emplace(prompt.begin(), prompt.end());
  }
  return out;
}

TEST(DatasetWriter, TestSplitSharesNoPromptWithTrainingAndTheManifestSaysSo) {
  TempDir tmp;
  for (TaskKind task : {TaskKind::shortest_path, TaskKind::connectivity}) {
    // Small graphs so that random collisions would be common without the partition.
    GraphParams p = graph_params(task, 9, 30'000, 2'000);
    p.nodes_min = 4;
    p.nodes_max = 6;
    p.node_tokens = 6;
    p.degree = task == TaskKind::connectivity ? 1.5 : 2;
    GraphGenerator generator(p);
    fs::path dir = tmp / std::string(enum_name(generator.task()));
    nlohmann::json manifest = write(generator, dir, 2);
    ASSERT_EQ(manifest.at("disjointness").size(), 1u);
    EXPECT_EQ(manifest["disjointness"][0],
              (nlohmann::json{{"split", "test"}, {"from", "train"}, {"shared_prompts", 0}}));

    Dataset dataset = Dataset::open(dir);
    EXPECT_EQ(dataset.manifest(), manifest);
    std::set<std::vector<Token>> train = prompts(dataset.split("train"));
    std::set<std::vector<Token>> test = prompts(dataset.split("test"));
    int shared = 0;
    for (const auto& prompt : test) shared += train.count(prompt) > 0;
    EXPECT_EQ(shared, 0) << generator.task();
    // The check above would see collisions if there were any to see: prompts repeat within training.
    EXPECT_LT(train.size(), 30'000u) << generator.task();
    EXPECT_EQ(count_shared_prompts(dataset.split("test"), dataset.split("train")), 0u);
  }
}

TEST(DatasetWriter, TwoHopTestSplitSharesNoPromptWithTraining) {
  // |V| = 4 (two ends, two middles, one edge each): a few hundred distinct prompts, so that without
  // the partition most test prompts would also be training prompts.
  TempDir tmp;
  TwoHopParams p;
  p.seed = 9;
  p.train_count = 30'000;
  p.test_count = 500;
  p.vertices = 4;
  nlohmann::json manifest = write(TwoHopGenerator(p), tmp / "h", 2);
  EXPECT_EQ(manifest["disjointness"][0],
            (nlohmann::json{{"split", "test"}, {"from", "train"}, {"shared_prompts", 0}}));
  Dataset dataset = Dataset::open(tmp / "h");
  std::set<std::vector<Token>> train = prompts(dataset.split("train"));
  std::set<std::vector<Token>> test = prompts(dataset.split("test"));
  int shared = 0;
  for (const auto& prompt : test) shared += train.count(prompt) > 0;
  EXPECT_EQ(shared, 0);
  EXPECT_LT(train.size(), 1'000u) << "prompts repeat within training: collisions were possible";
  EXPECT_GT(test.size(), 1u);
}

TEST(DatasetWriter, ManifestRecordsSizesChecksumsParametersAndVocabulary) {
  TempDir tmp;
  GraphGenerator generator(graph_params(TaskKind::shortest_path, 10, 3'000, 100));
  nlohmann::json manifest = write(generator, tmp / "d", 2);
  EXPECT_EQ(nlohmann::json::parse(read_text(tmp / "d" / "manifest.json")), manifest);
  EXPECT_EQ(manifest.at("format"), "lab-dataset");
  EXPECT_EQ(manifest.at("task"), "shortest-path");
  EXPECT_EQ(manifest.at("parameters").at("seed"), 10);
  EXPECT_EQ(manifest.at("parameters").at("nodes_max"), 16);
  EXPECT_EQ(manifest.at("vocabulary").get<std::vector<std::string>>(), generator.vocabulary().texts());
  for (auto [name, count] : {std::pair{"train", 3'000}, std::pair{"test", 100}}) {
    const auto& split = manifest.at("splits").at(name);
    EXPECT_EQ(split.at("count"), count);
    std::string tokens = read_text(tmp / "d" / (std::string(name) + ".tokens"));
    std::string index = read_text(tmp / "d" / (std::string(name) + ".index"));
    EXPECT_EQ(tokens.size(), split.at("tokens").get<std::uint64_t>() * 2);
    EXPECT_EQ(index.size(), static_cast<std::size_t>(count) * 16);
    EXPECT_EQ(split.at("files").at("tokens").at("bytes"), tokens.size());
    EXPECT_EQ(split.at("files").at("tokens").at("crc32c"),
              fmt::format("{:08x}", test::bitwise_crc32c(tokens)));
    EXPECT_EQ(split.at("files").at("index").at("crc32c"), fmt::format("{:08x}", test::bitwise_crc32c(index)));
  }
  // The manifest's own checksum covers its compact JSON without that field.
  nlohmann::json body = manifest;
  body.erase("manifest_crc32c");
  EXPECT_EQ(manifest.at("manifest_crc32c"), fmt::format("{:08x}", test::bitwise_crc32c(body.dump())));
}

TEST(Crc32c, MatchesTheBitwiseDefinitionAndTheStandardCheckValue) {
  EXPECT_EQ(crc32c(0, "123456789", 9), 0xE3069283u);  // the published CRC-32C check value
  std::string bytes;
  for (int i = 0; i < 1000; ++i) bytes += static_cast<char>((i * 7919) & 0xFF);
  for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 63u, 64u, 65u, 1000u}) {
    std::string prefix = bytes.substr(0, n);
    EXPECT_EQ(crc32c(0, prefix.data(), prefix.size()), test::bitwise_crc32c(prefix)) << n;
  }
  // Extending a checksum equals checksumming the concatenation.
  std::uint32_t crc = crc32c(0, bytes.data(), 333);
  EXPECT_EQ(crc32c(crc, bytes.data() + 333, bytes.size() - 333), test::bitwise_crc32c(bytes));
}

// Throws lab::Error at one example: a generator failing half-way through a write.
class FailingGenerator final : public Generator {
 public:
  FailingGenerator(const Generator& inner, std::uint64_t fail_at) : inner_(inner), fail_at_(fail_at) {}
  TaskKind task() const override { return inner_.task(); }
  const Vocabulary& vocabulary() const override { return inner_.vocabulary(); }
  std::vector<SplitSpec> splits() const override { return inner_.splits(); }
  std::vector<DisjointSplits> disjoint_splits() const override { return inner_.disjoint_splits(); }
  nlohmann::json parameters() const override { return inner_.parameters(); }
  std::size_t generate(std::size_t split, std::uint64_t index, std::vector<Token>& out) const override {
    if (split == 0 && index == fail_at_) fail("example {} cannot be drawn", index);
    return inner_.generate(split, index, out);
  }

 private:
  const Generator& inner_;
  std::uint64_t fail_at_;
};

// A test split that copies training examples: the writer's own disjointness check must refuse it.
class LeakyGenerator final : public Generator {
 public:
  explicit LeakyGenerator(const Generator& inner) : inner_(inner) {}
  TaskKind task() const override { return inner_.task(); }
  const Vocabulary& vocabulary() const override { return inner_.vocabulary(); }
  std::vector<SplitSpec> splits() const override { return inner_.splits(); }
  std::vector<DisjointSplits> disjoint_splits() const override { return inner_.disjoint_splits(); }
  nlohmann::json parameters() const override { return inner_.parameters(); }
  std::size_t generate(std::size_t split, std::uint64_t index, std::vector<Token>& out) const override {
    return inner_.generate(split == 1 && index == 3 ? 0 : split, index, out);
  }

 private:
  const Generator& inner_;
};

TEST(DatasetWriter, AFailedWriteLeavesNothingBehind) {
  TempDir tmp;
  GraphGenerator inner(graph_params(TaskKind::shortest_path, 1, 40'000, 100));
  FailingGenerator failing(inner, 39'999);  // after the first block was written
  EXPECT_THROW(write(failing, tmp / "out", 2), Error);
  EXPECT_TRUE(fs::is_empty(tmp.path()))
      << "left behind: " << fmt::format("{}", fmt::join(file_names(tmp.path()), " "));

  LeakyGenerator leaky(inner);
  EXPECT_ANY_THROW(write(leaky, tmp / "out", 2));
  EXPECT_TRUE(fs::is_empty(tmp.path()))
      << "left behind: " << fmt::format("{}", fmt::join(file_names(tmp.path()), " "));
}

TEST(DatasetWriter, RefusesANonEmptyDirectoryUnlessForcedAndThenReplacesIt) {
  TempDir tmp;
  fs::create_directory(tmp / "out");
  test::write_text(tmp / "out" / "precious.txt", "keep me");
  GraphGenerator generator(graph_params(TaskKind::connectivity, 1, 100, 10));
  try {
    write(generator, tmp / "out", 1);
    ADD_FAILURE() << "wrote into a non-empty directory";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--out"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--force"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_text(tmp / "out" / "precious.txt"), "keep me");
  EXPECT_EQ(file_names(tmp.path()), std::vector<std::string>{"out"});

  WriteOptions options;
  options.out = tmp / "out";
  options.force = true;
  options.quiet = true;
  write_dataset(generator, options);
  EXPECT_FALSE(fs::exists(tmp / "out" / "precious.txt"));
  EXPECT_NO_THROW(Dataset::open(tmp / "out").verify_checksums());
  EXPECT_EQ(file_names(tmp.path()), std::vector<std::string>{"out"}) << "no .old or .partial directory left";

  // An existing empty directory is fine without --force.
  fs::create_directory(tmp / "empty");
  write(generator, tmp / "empty", 1);
  EXPECT_TRUE(fs::exists(tmp / "empty" / "manifest.json"));
}

TEST(DatasetWriter, UnwritableDestinationsFailNamingThePath) {
  TempDir tmp;
  test::write_text(tmp / "file", "a regular file");
  GraphGenerator generator(graph_params(TaskKind::connectivity, 1, 100, 10));
  for (fs::path out : {tmp / "file" / "out", tmp / "file", fs::path("/proc/lab_test/out")}) {
    try {
      write(generator, out, 1);
      ADD_FAILURE() << "wrote to " << out;
    } catch (const Error& e) {
      std::string message = e.what();
      EXPECT_TRUE(message.find(out.string()) != std::string::npos ||
                  message.find(out.parent_path().string()) != std::string::npos)
          << message;
    }
  }
  EXPECT_EQ(file_names(tmp.path()), std::vector<std::string>{"file"});
}

}  // namespace
}  // namespace lab
