// The probes' scoring on known answers (the stored ones, and ones damaged in known ways), with the
// expected numbers counted independently in the test; router statistics from a hand-made tally.
#include "probes/probe.h"

#include <cmath>

#include <gtest/gtest.h>

#include "generators/dataset_writer.h"
#include "generators/graph_generator.h"
#include "generators/phonebook_generator.h"
#include "generators/two_hop_generator.h"
#include "tasks/graph_task.h"
#include "tasks/phonebook_task.h"
#include "tasks/two_hop_task.h"
#include "tests/support/temp_dir.h"

namespace lab {
namespace {

std::vector<std::vector<Token>> stored_answers(const DatasetSplit& split) {
  std::vector<std::vector<Token>> answers;
  for (std::uint64_t i = 0; i < split.size(); ++i) {
    auto a = split.example(i).answer();
    answers.emplace_back(a.begin(), a.end());
  }
  return answers;
}

Dataset graph_dataset(const test::TempDir& dir, TaskKind task, int prompt_format = kGraphPromptFormat) {
  GraphParams p;
  p.prompt_format = prompt_format;
  p.task = task;
  p.train_count = 50;
  p.test_count = 300;
  p.nodes_min = 4;
  p.nodes_max = 9;
  p.node_tokens = 12;
  p.degree = task == TaskKind::shortest_path ? 2.5 : 1.5;
  write_dataset(GraphGenerator(p), WriteOptions{dir / "data", false, 1, true});
  return Dataset::open(dir / "data");
}

class ShortestPathScoring : public ::testing::TestWithParam<int> {};  // the prompt format

TEST_P(ShortestPathScoring, StoredAnswersAreAllValidAndExactWithConsistentBreakdowns) {
  test::TempDir dir;
  Dataset data = graph_dataset(dir, TaskKind::shortest_path, GetParam());
  ASSERT_EQ(data.manifest().at("parameters").at("prompt_format"), GetParam());
  const DatasetSplit& test = data.split("test");
  auto answers = stored_answers(test);
  // Damage every third answer: drop its last label (no longer reaches t). Its first hop stays right
  // unless the path had one edge (then only s is left).
  std::size_t damaged = 0, damaged_one_edge = 0;
  for (std::size_t i = 0; i < answers.size(); i += 3, ++damaged) {
    damaged_one_edge += answers[i].size() == 3;  // s t <eos>
    answers[i].erase(answers[i].end() - 2);
  }
  auto scores = score_graph_answers(data, test, answers);
  const auto& m = scores.at("metrics");
  const double n = static_cast<double>(answers.size());
  const double expected = 1.0 - static_cast<double>(damaged) / n;
  EXPECT_NEAR(m.at("path_valid").get<double>(), expected, 1e-12);
  EXPECT_NEAR(m.at("path_exact").get<double>(), expected, 1e-12);
  ASSERT_GT(damaged_one_edge, 0u);
  EXPECT_NEAR(m.at("path_first_hop").get<double>(), 1.0 - static_cast<double>(damaged_one_edge) / n, 1e-12);
  EXPECT_EQ(m.at("accuracy"), m.at("path_valid"));
  EXPECT_DOUBLE_EQ(scores.at("breakdown").at("by_path_length").at("1").at("first_hop").get<double>(),
                   1.0 - static_cast<double>(damaged_one_edge) /
                             scores.at("breakdown").at("by_path_length").at("1").at("count").get<double>());

  // The path-length breakdown: counts per number of edges, counted here from the stored answers.
  std::map<int, long> lengths;
  for (std::uint64_t i = 0; i < test.size(); ++i)
    ++lengths[static_cast<int>(test.example(i).answer().size()) - 2];
  long total = 0;
  for (const auto& [edges, cell] : scores.at("breakdown").at("by_path_length").items()) {
    EXPECT_EQ(cell.at("count").get<long>(), lengths.at(std::stoi(edges))) << edges;
    total += cell.at("count").get<long>();
  }
  EXPECT_EQ(total, static_cast<long>(test.size()));
  long by_nodes = 0;
  for (const auto& [nodes, cell] : scores.at("breakdown").at("by_nodes").items()) {
    EXPECT_GE(std::stoi(nodes), 2);
    EXPECT_LE(std::stoi(nodes), 9);
    by_nodes += cell.at("count").get<long>();
  }
  EXPECT_EQ(by_nodes, static_cast<long>(test.size()));
}

INSTANTIATE_TEST_SUITE_P(PromptFormats, ShortestPathScoring, ::testing::Values(1, 2),
                         [](const auto& info) { return "Format" + std::to_string(info.param); });

TEST(ProbeScoring, PredictionsRoundTripThroughJsonAndMatchTheErrorCounts) {
  test::TempDir dir;
  Dataset data = graph_dataset(dir, TaskKind::shortest_path);
  const DatasetSplit& test = data.split("test");
  auto answers = stored_answers(test);
  // Known damage: drop the <eos> of every 5th answer (malformed), say the source twice in every other
  // 7th (s s x1 .. t: from s to t, one hop too long), and leave the rest right.
  long malformed = 0, too_long = 0;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    if (i % 5 == 0) {
      answers[i].pop_back();
      ++malformed;
    } else if (i % 7 == 0) {
      answers[i].insert(answers[i].begin(), answers[i][0]);
      ++too_long;
    }
  }
  std::vector<nlohmann::json> predictions;
  auto scores = score_graph_answers(data, test, answers, &predictions);
  ASSERT_EQ(predictions.size(), answers.size());
  std::map<std::string, long> counted;
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    const nlohmann::json line = nlohmann::json::parse(predictions[i].dump());  // as written to the file
    EXPECT_EQ(line.at("index"), i);
    EXPECT_EQ(line.at("split"), "test");
    EXPECT_EQ(line.at("decoded_ids").get<std::vector<Token>>(), answers[i]);
    EXPECT_EQ(line.at("decoded"), data.vocabulary().render(answers[i]));
    EXPECT_EQ(line.at("facts").at("distance"), static_cast<int>(test.example(i).answer().size()) - 2);
    EXPECT_GE(line.at("facts").at("shortest_paths").get<int>(), 1);
    ++counted[line.at("verdict").at("error").get<std::string>()];
  }
  const auto& counts = scores.at("errors").at("counts");
  for (const auto& [name, count] : counts.items()) EXPECT_EQ(count.get<long>(), counted[name]) << name;
  EXPECT_EQ(counts.at("malformed").get<long>(), malformed);
  EXPECT_EQ(counts.at("too_long").get<long>(), too_long);
  EXPECT_EQ(scores.at("errors").at("first_bad_hop").at("1").get<long>(), too_long) << "s-s is no edge";
  EXPECT_EQ(counts.at("correct").get<long>(), static_cast<long>(answers.size()) - malformed - too_long);
  EXPECT_NEAR(scores.at("metrics").at("error_malformed").get<double>(),
              static_cast<double>(malformed) / static_cast<double>(answers.size()), 1e-12);
}

TEST(ProbeScoring, ConnectivityAlwaysYesHasTheYesShareAsAccuracyAndHalfAsBalancedAccuracy) {
  test::TempDir dir;
  Dataset data = graph_dataset(dir, TaskKind::connectivity);
  const DatasetSplit& test = data.split("test");
  auto perfect = score_graph_answers(data, test, stored_answers(test)).at("metrics");
  EXPECT_DOUBLE_EQ(perfect.at("accuracy").get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(perfect.at("balanced_accuracy").get<double>(), 1.0);

  std::vector<std::vector<Token>> yes(test.size(), std::vector<Token>{graph_token::yes, special::eos});
  long connected = 0;
  for (std::uint64_t i = 0; i < test.size(); ++i)
    connected += test.example(i).answer()[0] == graph_token::yes;
  ASSERT_GT(connected, 0);
  ASSERT_LT(connected, static_cast<long>(test.size()));
  auto scores = score_graph_answers(data, test, yes);
  auto m = scores.at("metrics");
  EXPECT_NEAR(m.at("accuracy").get<double>(), static_cast<double>(connected) / test.size(), 1e-12);
  EXPECT_NEAR(m.at("balanced_accuracy").get<double>(), 0.5, 1e-12);
  // Every unconnected pair is a false yes; no false no.
  const auto& counts = scores.at("errors").at("counts");
  EXPECT_EQ(counts.at("false_yes").get<long>(), static_cast<long>(test.size()) - connected);
  EXPECT_EQ(counts.at("false_no").get<long>(), 0);
  EXPECT_EQ(counts.at("correct").get<long>(), connected);
  EXPECT_DOUBLE_EQ(m.at("false_yes_rate").get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(m.at("false_no_rate").get<double>(), 0.0);
  // Answers without <eos> are malformed, whatever their label.
  std::vector<std::vector<Token>> cut(test.size(), std::vector<Token>{graph_token::no});
  EXPECT_EQ(score_graph_answers(data, test, cut).at("errors").at("counts").at("malformed").get<long>(),
            static_cast<long>(test.size()));
}

TEST(ProbeScoring, TwoHopCountsEachCaseApartAndNamesHowAnswersAreWrong) {
  test::TempDir dir;
  TwoHopParams p;
  p.train_count = 50;
  p.test_count = 400;
  write_dataset(TwoHopGenerator(p), WriteOptions{dir / "data", false, 1, true});
  Dataset data = Dataset::open(dir / "data");
  const DatasetSplit& test = data.split("test");
  const auto stored = stored_answers(test);
  auto perfect = score_two_hop_answers(data, test, stored).at("metrics");
  EXPECT_DOUBLE_EQ(perfect.at("accuracy").get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(perfect.at("balanced_accuracy").get<double>(), 1.0);

  // Always <no>: right exactly on the examples without a shared middle (counted here from the prompts
  // by brute force), so balanced accuracy 1/2 whatever the share.
  long none = 0;
  for (std::uint64_t i = 0; i < test.size(); ++i) {
    auto question = parse_graph_prompt(test.example(i).prompt(), {p.vertices, 2});
    ASSERT_TRUE(question);
    none += common_neighbours(*question).empty();
  }
  ASSERT_GT(none, 0);
  ASSERT_LT(none, static_cast<long>(test.size()));
  const std::vector<std::vector<Token>> no(test.size(), std::vector<Token>{graph_token::no, special::eos});
  auto scores = score_two_hop_answers(data, test, no);
  auto m = scores.at("metrics");
  EXPECT_NEAR(m.at("accuracy").get<double>(), static_cast<double>(none) / test.size(), 1e-12);
  EXPECT_NEAR(m.at("balanced_accuracy").get<double>(), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(m.at("no_middle_accuracy").get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(m.at("one_middle_accuracy").get<double>(), 0.0);
  EXPECT_EQ(scores.at("errors").at("counts").at("missed_middle").get<long>(),
            static_cast<long>(test.size()) - none);

  // Vertex 0 always: right where 0 is the middle; invented where there is none; a wrong middle elsewhere.
  // <e> (the token after the labels) and a missing <eos> are malformed.
  const std::vector<std::vector<Token>> zero(test.size(), std::vector<Token>{label_token(0), special::eos});
  long zero_right = 0;
  for (const auto& answer : stored) zero_right += answer[0] == label_token(0);
  const auto counts = score_two_hop_answers(data, test, zero).at("errors").at("counts");
  EXPECT_EQ(counts.at("correct").get<long>(), zero_right);
  EXPECT_EQ(counts.at("invented_middle").get<long>(), none);
  EXPECT_EQ(counts.at("wrong_middle").get<long>(), static_cast<long>(test.size()) - none - zero_right);
  const Token edge = GraphFormat{p.vertices, 2}.edge_token();
  for (const std::vector<Token>& bad :
       {std::vector<Token>{edge, special::eos}, std::vector<Token>{label_token(0)},
        std::vector<Token>{graph_token::yes, special::eos}}) {
    const std::vector<std::vector<Token>> answers(test.size(), bad);
    EXPECT_EQ(
        score_two_hop_answers(data, test, answers).at("errors").at("counts").at("malformed").get<long>(),
        static_cast<long>(test.size()));
  }
  // Predictions carry each verdict and the case.
  std::vector<nlohmann::json> predictions;
  score_two_hop_answers(data, test, no, &predictions);
  ASSERT_EQ(predictions.size(), test.size());
  long none_correct = 0;
  for (const auto& prediction : predictions) {
    none_correct += prediction.at("verdict").at("correct").get<bool>();
    EXPECT_EQ(prediction.at("verdict").at("correct").get<bool>(),
              !prediction.at("facts").at("has_middle").get<bool>());
  }
  EXPECT_EQ(none_correct, none);
}

TEST(ProbeScoring, PhonebookRecallPerDigitAndBitsPerParameter) {
  test::TempDir dir;
  PhonebookParams p;
  p.entries = 400;
  p.test_count = 100;
  p.control_count = 50;
  write_dataset(PhonebookGenerator(p), WriteOptions{dir / "book", false, 1, true});
  Dataset data = Dataset::open(dir / "book");
  auto test = stored_answers(data.split("test"));
  auto control = stored_answers(data.split("control"));
  const nlohmann::json params = {{"total", 1000}, {"active", 250}};

  auto perfect = score_phonebook_answers(data, test, control, params).at("metrics");
  EXPECT_DOUBLE_EQ(perfect.at("recall_exact").get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(perfect.at("recall_per_digit").get<double>(), 1.0);
  // 400 entries x log2(4e9) bits over 1000 and 250 parameters.
  EXPECT_NEAR(perfect.at("bits_per_param_total").get<double>(), 400 * std::log2(4e9) / 1000, 1e-9);
  EXPECT_NEAR(perfect.at("bits_per_param_active").get<double>(), 400 * std::log2(4e9) / 250, 1e-9);

  // Every answer with its last digit wrong: no exact recall, 9 of 10 digits.
  const Token zero = phonebook_vocabulary().id("0"), one = phonebook_vocabulary().id("1");
  for (auto& a : test) a[9] = a[9] == zero ? one : zero;
  auto last_wrong = score_phonebook_answers(data, test, control, params).at("metrics");
  EXPECT_DOUBLE_EQ(last_wrong.at("recall_exact").get<double>(), 0.0);
  EXPECT_NEAR(last_wrong.at("recall_per_digit").get<double>(), 0.9, 1e-12);
  EXPECT_DOUBLE_EQ(last_wrong.at("memorized_entries").get<double>(), 0.0);
  const auto errors = score_phonebook_answers(data, test, control, params).at("errors").at("test");
  EXPECT_EQ(errors.at("counts").at("wrong_digits").get<long>(), 100);
  EXPECT_EQ(errors.at("counts").at("malformed").get<long>(), 0);
  EXPECT_EQ(errors.at("digits_wrong").at("1").get<long>(), 100);
  EXPECT_EQ(errors.at("wrong_by_position").at(9).get<long>(), 100);
  EXPECT_EQ(errors.at("wrong_by_position").at(0).get<long>(), 0);

  // Cut after five digits: malformed, five digits wrong.
  for (auto& a : test) a.resize(5);
  const auto cut = score_phonebook_answers(data, test, control, params).at("errors").at("test");
  EXPECT_EQ(cut.at("counts").at("malformed").get<long>(), 100);
  EXPECT_EQ(cut.at("digits_wrong").at("5").get<long>(), 100);
}

TEST(ProbeScoring, RouterStatisticsFromAHandMadeTally) {
  RouterTally tally;
  tally.tokens_per_expert = {{10, 10, 10, 10}, {40, 0, 0, 0}};
  tally.entropy_sum = {2.0, 0.0};
  tally.tokens = {40, 40};
  auto layers = router_statistics(tally);
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_DOUBLE_EQ(layers[0].at("imbalance").get<double>(), 1.0);
  EXPECT_NEAR(layers[0].at("load_entropy").get<double>(), 1.0, 1e-12);
  EXPECT_NEAR(layers[0].at("routing_entropy").get<double>(), 0.05, 1e-12);
  EXPECT_DOUBLE_EQ(layers[1].at("imbalance").get<double>(), 4.0);  // max 40 / mean 10
  EXPECT_NEAR(layers[1].at("load_entropy").get<double>(), 0.0, 1e-12);
}

}  // namespace
}  // namespace lab
