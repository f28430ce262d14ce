// The two-hop task: answers as tokens, the common neighbours of a prompt, error classes and the
// per-case tally, on hand-made examples.
#include "tasks/two_hop_task.h"

#include <cmath>

#include <gtest/gtest.h>

namespace lab {
namespace {

TEST(TwoHopTask, AnswersAreTheMiddlesLabelOrNoThenEos) {
  std::vector<Token> out;
  append_two_hop_answer(5, out);
  append_two_hop_answer(std::nullopt, out);
  EXPECT_EQ(out, (std::vector<Token>{label_token(5), special::eos, graph_token::no, special::eos}));
}

TEST(TwoHopTask, CommonNeighboursReadsEitherOrientationOfEachEdge) {
  // Ends 0 and 1; middles 5, 6, 7. 0 - {5, 6}, 1 - {6, 7}: they share 6.
  GraphQuestion q{{{0, 5}, {6, 0}, {1, 6}, {7, 1}}, 0, 1};
  EXPECT_EQ(common_neighbours(q), std::vector<int>{6});
  q.edges = {{0, 5}, {1, 7}};
  EXPECT_TRUE(common_neighbours(q).empty());
  q.edges = {{0, 5}, {5, 1}, {0, 7}, {1, 7}};
  EXPECT_EQ(common_neighbours(q), (std::vector<int>{5, 7}));
}

TEST(TwoHopTask, ErrorClassesSeparateMissedInventedWrongAndMalformedAnswers) {
  const std::vector<Token> middle = {label_token(3), special::eos}, none = {graph_token::no, special::eos};
  const int labels = 8;
  const Token edge = GraphFormat{labels, 2}.edge_token();
  auto classify = [&](const std::vector<Token>& expected, std::vector<Token> decoded) {
    return classify_two_hop_answer(expected, decoded, labels);
  };
  EXPECT_EQ(classify(middle, {label_token(3), special::eos}), TwoHopError::none);
  EXPECT_EQ(classify(middle, {label_token(3), special::eos, label_token(1)}),
            TwoHopError::none);  // after <eos>
  EXPECT_EQ(classify(middle, {label_token(4), special::eos}), TwoHopError::wrong_middle);
  EXPECT_EQ(classify(middle, {graph_token::no, special::eos}), TwoHopError::missed_middle);
  EXPECT_EQ(classify(none, {graph_token::no, special::eos}), TwoHopError::none);
  EXPECT_EQ(classify(none, {label_token(0), special::eos}), TwoHopError::invented_middle);
  for (std::vector<Token> bad :
       {std::vector<Token>{label_token(3)}, std::vector<Token>{label_token(3), label_token(3)},
        std::vector<Token>{edge, special::eos}, std::vector<Token>{graph_token::yes, special::eos},
        std::vector<Token>{special::eos}, std::vector<Token>{}}) {
    EXPECT_EQ(classify(middle, bad), TwoHopError::malformed);
    EXPECT_EQ(classify(none, bad), TwoHopError::malformed);
  }
  EXPECT_STREQ(two_hop_error_name(TwoHopError::none), "correct");
}

TEST(TwoHopTask, TallyGivesEachCaseAndTheirMean) {
  TwoHopTally tally;
  for (int i = 0; i < 6; ++i) tally.add(/*has_middle=*/true, i < 3);  // 3 of 6
  for (int i = 0; i < 2; ++i) tally.add(/*has_middle=*/false, true);  // 2 of 2
  EXPECT_DOUBLE_EQ(tally.accuracy(), 5.0 / 8);
  EXPECT_DOUBLE_EQ(tally.middle_accuracy(), 0.5);
  EXPECT_DOUBLE_EQ(tally.none_accuracy(), 1.0);
  EXPECT_DOUBLE_EQ(tally.balanced_accuracy(), 0.75);
  TwoHopTally one_case;
  one_case.add(false, false);
  EXPECT_TRUE(std::isnan(one_case.middle_accuracy()));
  EXPECT_DOUBLE_EQ(one_case.balanced_accuracy(), 0.0);  // over the case that occurred
  EXPECT_TRUE(std::isnan(TwoHopTally{}.accuracy()));
}

}  // namespace
}  // namespace lab
