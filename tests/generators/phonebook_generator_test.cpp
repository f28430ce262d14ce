// The phone book at 1e6 entries, read back from the written files: names unique, numbers well-formed,
// control names outside the book, recall queries copies of distinct book entries.
#include "generators/phonebook_generator.h"

#include <regex>
#include <unordered_set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "generators/dataset_reader.h"
#include "generators/dataset_writer.h"
#include "tasks/phonebook_task.h"
#include "tests/generators/dataset_files.h"
#include "tests/support/temp_dir.h"

namespace lab {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

// "<bos>Name:<sep>" -> "Name"; fails the test if the prompt is not of that form.
std::string name_of(const Vocabulary& vocabulary, std::span<const Token> prompt) {
  EXPECT_GE(prompt.size(), 4u);
  EXPECT_EQ(prompt.front(), special::bos);
  EXPECT_EQ(prompt.back(), special::sep);
  EXPECT_EQ(vocabulary.text(prompt[prompt.size() - 2]), ":");
  return vocabulary.render(prompt.subspan(1, prompt.size() - 3));
}

// Ten digits, the first 6-9, then <eos>; returns the digits ("" if malformed).
std::string number_of(const Vocabulary& vocabulary, std::span<const Token> answer) {
  if (answer.size() != 11 || answer.back() != special::eos) return "";
  std::string digits = vocabulary.render(answer.first(10));
  if (digits.size() != 10 || digits[0] < '6' || digits[0] > '9') return "";
  for (char c : digits) {
    if (c < '0' || c > '9') return "";
  }
  return digits;
}

TEST(Phonebook, NamesAreUniqueAndNumbersWellFormedAcrossOneMillionEntries) {
  TempDir tmp;
  PhonebookParams params;
  params.seed = 17;
  params.entries = 1'000'000;
  params.test_count = 1'000;
  params.control_count = 1'000;
  PhonebookGenerator generator(params);
  WriteOptions options;
  options.out = tmp / "book";
  options.threads = 2;
  options.quiet = true;
  write_dataset(generator, options);
  Dataset dataset = Dataset::open(tmp / "book");
  const Vocabulary& vocabulary = dataset.vocabulary();

  const DatasetSplit& train = dataset.split("train");
  ASSERT_EQ(train.size(), params.entries);
  std::unordered_set<std::string> names;
  names.reserve(train.size());
  std::vector<long> first_digits(10, 0), digits(10, 0);
  const std::regex full_name("[A-Z][a-z]+ [A-Z][a-z]+");  // the built-in space: "Bako Tirema"
  for (std::uint64_t i = 0; i < train.size(); ++i) {
    ExampleView example = train.example(i);
    std::string name = name_of(vocabulary, example.prompt());
    ASSERT_TRUE(names.insert(name).second) << "entry " << i << " repeats the name '" << name << "'";
    std::string number = number_of(vocabulary, example.answer());
    ASSERT_FALSE(number.empty()) << "entry " << i << ": " << vocabulary.render(example.answer());
    ++first_digits[number[0] - '0'];
    for (std::size_t k = 1; k < number.size(); ++k) ++digits[number[k] - '0'];
    if (i % 10'007 == 0) {
      ASSERT_TRUE(std::regex_match(name, full_name)) << name;
      auto [entry_name, entry_number] = generator.entry(i);
      ASSERT_EQ(entry_name, name);
      ASSERT_EQ(entry_number, number);
    }
  }
  // First digits uniform over 6-9, the others over 0-9 (sd of a share at 1e6 draws is ~0.05%).
  for (int d = 6; d <= 9; ++d) EXPECT_NEAR(first_digits[d] / 1e6, 0.25, 0.003) << d;
  for (int d = 0; d <= 9; ++d) EXPECT_NEAR(digits[d] / 9e6, 0.1, 0.002) << d;

  // Control names are not in the book (and are distinct among themselves); their numbers are well-formed.
  const DatasetSplit& control = dataset.split("control");
  ASSERT_EQ(control.size(), params.control_count);
  std::unordered_set<std::string> control_names;
  for (std::uint64_t i = 0; i < control.size(); ++i) {
    ExampleView example = control.example(i);
    std::string name = name_of(vocabulary, example.prompt());
    EXPECT_EQ(names.count(name), 0u) << "control name '" << name << "' is in the book";
    EXPECT_TRUE(control_names.insert(name).second) << name;
    EXPECT_FALSE(number_of(vocabulary, example.answer()).empty());
  }

  // Recall queries copy distinct book entries token for token.
  const DatasetSplit& test = dataset.split("test");
  ASSERT_EQ(test.size(), params.test_count);
  std::set<std::uint64_t> entries;
  for (std::uint64_t i = 0; i < test.size(); ++i) {
    const std::uint64_t entry = generator.test_entry(i);
    ASSERT_LT(entry, params.entries);
    EXPECT_TRUE(entries.insert(entry).second) << "recall query " << i << " repeats entry " << entry;
    auto query = test.example(i).tokens, stored = train.example(entry).tokens;
    EXPECT_TRUE(std::equal(query.begin(), query.end(), stored.begin(), stored.end())) << "recall query " << i;
    EXPECT_EQ(test.example(i).prompt_length, train.example(entry).prompt_length);
  }
  // The queries are spread over the book, not its first entries.
  EXPECT_GT(*entries.rbegin(), params.entries / 2);
  EXPECT_LT(*entries.begin(), params.entries / 2);

  const nlohmann::json& rule = dataset.manifest().at("disjointness").at(0);
  EXPECT_EQ(rule, (nlohmann::json{{"split", "control"}, {"from", "train"}, {"shared_prompts", 0}}));
}

std::string error_of(const PhonebookParams& params) {
  try {
    PhonebookGenerator generator(params);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Phonebook, ABookLargerThanItsNameSpaceFailsNamingTheFlags) {
  TempDir tmp;
  test::write_text(tmp / "first.txt", "Ada\nBo\n\nCy\n");  // a blank line is skipped: 3 x 2 = 6 names
  test::write_text(tmp / "last.txt", "Ng\r\nO'Neil-Ray\n");
  PhonebookParams params;
  params.first_names = tmp / "first.txt";
  params.last_names = tmp / "last.txt";
  params.entries = 4;
  params.test_count = 4;
  params.control_count = 2;
  EXPECT_EQ(error_of(params), "");  // exactly fills the name space

  PhonebookGenerator generator(params);
  std::set<std::string> all;
  for (std::uint64_t i = 0; i < 4; ++i) all.insert(generator.entry(i).first);
  for (std::uint64_t i = 0; i < 2; ++i) {
    std::vector<Token> tokens;
    generator.generate(2, i, tokens);
    all.insert(phonebook_vocabulary().render(std::span<const Token>(tokens).subspan(1, tokens.size() - 14)));
  }
  EXPECT_EQ(all, (std::set<std::string>{"Ada Ng", "Ada O'Neil-Ray", "Bo Ng", "Bo O'Neil-Ray", "Cy Ng",
                                        "Cy O'Neil-Ray"}));

  params.entries = 5;
  params.test_count = 1;
  std::string message = error_of(params);
  EXPECT_NE(message.find("--entries"), std::string::npos) << message;
  EXPECT_NE(message.find("--control-count"), std::string::npos) << message;
  EXPECT_NE(message.find("6"), std::string::npos) << "should say how many names there are: " << message;
}

TEST(Phonebook, BadParametersAndNameFilesFailNamingTheFlagOrFileAndLine) {
  TempDir tmp;
  test::write_text(tmp / "good.txt", "Ada\nBo\nCy\n");
  test::write_text(tmp / "duplicate.txt", "Ada\nBo\nAda\n");
  test::write_text(tmp / "digits.txt", "Ada\nB0b\n");
  test::write_text(tmp / "empty.txt", "\n\n");
  auto with_files = [&](const char* first, const char* last) {
    PhonebookParams p;
    p.entries = 3;
    p.test_count = 1;
    p.control_count = 1;
    p.first_names = tmp / first;
    p.last_names = tmp / last;
    return p;
  };
  struct Case {
    PhonebookParams params;
    std::vector<std::string> expected;  // substrings of the message
  };
  PhonebookParams zero, too_many_queries, huge, only_first;
  zero.entries = 0;
  too_many_queries.entries = 10;
  too_many_queries.test_count = 11;
  huge.entries = 1'000'000'000'000ULL;
  only_first.first_names = tmp / "good.txt";
  const Case cases[] = {
      {zero, {"--entries"}},
      {too_many_queries, {"--test-count", "--entries"}},
      {huge, {"--entries"}},
      {only_first, {"--first-names", "--last-names"}},
      {with_files("duplicate.txt", "good.txt"), {"--first-names", "duplicate.txt:3", "Ada", "line 1"}},
      {with_files("good.txt", "digits.txt"), {"--last-names", "digits.txt:2", "B0b"}},
      {with_files("good.txt", "empty.txt"), {"--last-names", "empty.txt", "no names"}},
      {with_files("missing.txt", "good.txt"), {"--first-names", "missing.txt"}},
  };
  for (const Case& c : cases) {
    std::string message = error_of(c.params);
    EXPECT_FALSE(message.empty()) << "accepted: " << c.expected[0];
    for (const std::string& part : c.expected) EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace lab
