// Graph prompts read back exactly as written, malformed ones are rejected, and path / connectivity
// answers are scored as TASKS.md says, on cases small enough to check by hand.
#include "tasks/graph_task.h"

#include <gtest/gtest.h>

namespace lab {
namespace {

std::vector<Token> labels(std::initializer_list<int> values, bool eos = true) {
  std::vector<Token> out;
  for (int v : values) out.push_back(label_token(v));
  if (eos) out.push_back(special::eos);
  return out;
}

constexpr GraphFormat format1(int node_tokens) { return {node_tokens, 1}; }
constexpr GraphFormat format2(int node_tokens) { return {node_tokens, 2}; }

TEST(GraphPrompt, SerializesAsDocumented) {
  GraphQuestion question{{{3, 7}, {7, 1}}, 3, 1};
  std::vector<Token> tokens;
  append_graph_prompt(question, format2(8), tokens);
  EXPECT_EQ(graph_vocabulary(format2(8)).render(tokens), "<bos> <e> 3 7 <e> 7 1 <q> 3 1 <sep>");
  append_path_answer(std::vector<int>{3, 7, 1}, tokens);
  EXPECT_EQ(graph_vocabulary(format2(8)).render(tokens), "<bos> <e> 3 7 <e> 7 1 <q> 3 1 <sep> 3 7 1 <eos>");

  tokens.clear();
  append_graph_prompt(question, format1(8), tokens);
  EXPECT_EQ(graph_vocabulary(format1(8)).render(tokens), "<bos> 3 7 7 1 <q> 3 1 <sep>");
}

TEST(GraphPrompt, EdgeDelimiterFollowsTheLabelsSoLabelTokensAgreeAcrossFormats) {
  const Vocabulary v1 = graph_vocabulary(format1(8)), v2 = graph_vocabulary(format2(8));
  ASSERT_EQ(v2.size(), v1.size() + 1);
  for (std::size_t i = 0; i < v1.size(); ++i) EXPECT_EQ(v1.texts()[i], v2.texts()[i]);
  EXPECT_EQ(v2.text(format2(8).edge_token()), "<e>");
  EXPECT_EQ(format2(8).edge_token(), v2.size() - 1);
}

TEST(GraphPrompt, ParseInvertsSerializeKeepingOrderAndOrientation) {
  for (GraphFormat format : {format1(32), format2(32)}) {
    SCOPED_TRACE(format.prompt_format);
    GraphQuestion question{{{5, 0}, {0, 31}, {12, 5}, {31, 30}}, 31, 12};
    std::vector<Token> tokens;
    append_graph_prompt(question, format, tokens);
    EXPECT_EQ(tokens.size(), 5 + question.edges.size() * format.tokens_per_edge());
    EXPECT_EQ(edges_in_prompt(tokens.size(), format), question.edges.size());
    auto parsed = parse_graph_prompt(tokens, format);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->edges, question.edges);
    EXPECT_EQ(parsed->source, 31);
    EXPECT_EQ(parsed->target, 12);

    GraphQuestion no_edges{{}, 1, 2};  // the smallest prompt: <bos> <q> s t <sep>
    tokens.clear();
    append_graph_prompt(no_edges, {3, format.prompt_format}, tokens);
    ASSERT_EQ(tokens.size(), 5u);
    parsed = parse_graph_prompt(tokens, {3, format.prompt_format});
    ASSERT_TRUE(parsed.has_value());
    EXPECT_TRUE(parsed->edges.empty());
    EXPECT_EQ(parsed->source, 1);
    EXPECT_EQ(parsed->target, 2);
  }
}

TEST(GraphPrompt, AFormatOnePromptIsNotReadAsFormatTwoNorTheOtherWayRound) {
  // Lengths that fit the other format: 3 edges are 6 tokens in format 1 (two format-2 edges' worth),
  // 2 edges are 6 tokens in format 2 (three format-1 edges' worth). The tokens decide.
  std::vector<Token> one, two;
  append_graph_prompt(GraphQuestion{{{1, 2}, {2, 3}, {0, 3}}, 1, 3}, format1(4), one);
  append_graph_prompt(GraphQuestion{{{1, 2}, {2, 3}}, 1, 3}, format2(4), two);
  EXPECT_FALSE(parse_graph_prompt(one, format2(4))) << "no <e> where format 2 needs one";
  EXPECT_FALSE(parse_graph_prompt(two, format1(4))) << "<e> is not a label of format 1";
}

TEST(GraphPrompt, MalformedFormatTwoPromptsAreRejected) {
  std::vector<Token> good;
  // <bos> <e> 1 2 <e> 2 3 <q> 1 3 <sep>
  append_graph_prompt(GraphQuestion{{{1, 2}, {2, 3}}, 1, 3}, format2(4), good);
  ASSERT_TRUE(parse_graph_prompt(good, format2(4)).has_value());
  auto with = [&](std::size_t position, Token token) {
    std::vector<Token> bad = good;
    bad[position] = token;
    return bad;
  };
  EXPECT_FALSE(parse_graph_prompt(with(1, label_token(0)), format2(4))) << "an edge without <e>";
  EXPECT_FALSE(parse_graph_prompt(with(4, label_token(0)), format2(4))) << "the second edge without <e>";
  EXPECT_FALSE(parse_graph_prompt(with(2, format2(4).edge_token()), format2(4))) << "<e> as a vertex";
  EXPECT_FALSE(parse_graph_prompt(with(8, format2(4).edge_token()), format2(4))) << "<e> as the source";
  std::vector<Token> missing_vertex = good;
  missing_vertex.erase(missing_vertex.begin() + 3);
  EXPECT_FALSE(parse_graph_prompt(missing_vertex, format2(4))) << "an edge of one vertex";
}

TEST(GraphPrompt, MalformedPromptsAreRejected) {
  std::vector<Token> good;
  append_graph_prompt(GraphQuestion{{{1, 2}, {2, 3}}, 1, 3}, format1(4),
                      good);  // <bos> 1 2 2 3 <q> 1 3 <sep>
  ASSERT_TRUE(parse_graph_prompt(good, format1(4)).has_value());

  auto with = [&](std::size_t position, Token token) {
    std::vector<Token> bad = good;
    bad[position] = token;
    return bad;
  };
  EXPECT_FALSE(parse_graph_prompt(with(0, special::pad), format1(4))) << "no <bos>";
  EXPECT_FALSE(parse_graph_prompt(with(good.size() - 1, special::eos), format1(4))) << "no <sep>";
  EXPECT_FALSE(parse_graph_prompt(with(5, label_token(0)), format1(4))) << "no <q>";
  EXPECT_FALSE(parse_graph_prompt(with(2, graph_token::yes), format1(4))) << "a special inside an edge";
  EXPECT_FALSE(parse_graph_prompt(with(6, special::sep), format1(4))) << "a special as the source";
  EXPECT_FALSE(parse_graph_prompt(good, format1(3))) << "label 3 is outside 3 node tokens";

  std::vector<Token> odd = good;
  odd.insert(odd.begin() + 1, label_token(1));  // three edge-list tokens more than pairs allow
  EXPECT_FALSE(parse_graph_prompt(odd, format1(4))) << "an odd number of edge tokens";
  std::vector<Token> short_prompt = {special::bos, graph_token::query, label_token(1), special::sep};
  EXPECT_FALSE(parse_graph_prompt(short_prompt, format1(4)));
  EXPECT_FALSE(parse_graph_prompt(std::vector<Token>{}, format1(4)));
  std::vector<Token> answer_only = labels({1, 2, 3});
  EXPECT_FALSE(parse_graph_prompt(answer_only, format1(4)));
}

TEST(GraphPrompt, PathAnswersParseUpToEos) {
  EXPECT_EQ(parse_path_answer(labels({4, 0, 9}), 10), (std::vector<int>{4, 0, 9}));
  EXPECT_FALSE(parse_path_answer(labels({4, 0, 9}, false), 10)) << "no <eos>";
  EXPECT_FALSE(parse_path_answer(labels({4, 0, 10}), 10)) << "label outside the vocabulary";
  std::vector<Token> with_special = labels({4, 0});
  with_special.insert(with_special.begin() + 1, graph_token::query);
  EXPECT_FALSE(parse_path_answer(with_special, 10));
  EXPECT_EQ(parse_path_answer(labels({}), 10), std::vector<int>{});
}

// A square 0-1-3-2-0 with a tail 3-4: two shortest paths from 0 to 3 (via 1 or via 2), both length 2.
GraphQuestion square_question() { return GraphQuestion{{{0, 1}, {3, 1}, {0, 2}, {2, 3}, {4, 3}}, 0, 3}; }

TEST(ScoreShortestPath, StoredPathIsValidAndExact) {
  PathScore score = score_shortest_path(square_question(), labels({0, 1, 3}), labels({0, 1, 3}));
  EXPECT_TRUE(score.valid);
  EXPECT_TRUE(score.exact);
}

TEST(ScoreShortestPath, AnotherShortestPathIsValidButNotExact) {
  PathScore score = score_shortest_path(square_question(), labels({0, 1, 3}), labels({0, 2, 3}));
  EXPECT_TRUE(score.valid);
  EXPECT_FALSE(score.exact);
}

TEST(ScoreShortestPath, TokensAfterTheFirstEosAreIgnored) {
  std::vector<Token> decoded = labels({0, 2, 3});
  decoded.push_back(label_token(4));
  decoded.push_back(special::eos);
  PathScore score = score_shortest_path(square_question(), labels({0, 1, 3}), decoded);
  EXPECT_TRUE(score.valid);
  EXPECT_FALSE(score.exact);
}

TEST(ScoreShortestPath, LongerPathOfTheGraphIsNotValid) {
  // 0 2 3 4 3 and 0 1 0 2 3 walk real edges from 0 but are longer than d(0, 3) = 2.
  EXPECT_FALSE(score_shortest_path(square_question(), labels({0, 1, 3}), labels({0, 2, 0, 1, 3})).valid);
  EXPECT_FALSE(score_shortest_path(square_question(), labels({0, 1, 3}), labels({0, 1, 3, 2, 3})).valid);
}

TEST(ScoreShortestPath, ShorterSequenceIsNotValid) {
  // 0 -> 3 directly is not an edge, and it is shorter than the shortest path.
  EXPECT_FALSE(score_shortest_path(square_question(), labels({0, 1, 3}), labels({0, 3})).valid);
  EXPECT_FALSE(score_shortest_path(square_question(), labels({0, 1, 3}), labels({})).valid);
}

TEST(ScoreShortestPath, StepAlongANonEdgeIsNotValid) {
  // Right length and endpoints, but 0-4 is not an edge.
  PathScore score = score_shortest_path(square_question(), labels({0, 1, 3}), labels({0, 4, 3}));
  EXPECT_FALSE(score.valid);
  EXPECT_FALSE(score.exact);
}

TEST(ScoreShortestPath, MissingEosScoresNothing) {
  PathScore score = score_shortest_path(square_question(), labels({0, 1, 3}), labels({0, 1, 3}, false));
  EXPECT_FALSE(score.valid);
  EXPECT_FALSE(score.exact);
}

TEST(ScoreShortestPath, WrongEndpointsAreNotValid) {
  // Real edges, right length, but 1 -> 3 -> 4 and 0 -> 1 -> 0... do not go from 0 to 3.
  EXPECT_FALSE(score_shortest_path(square_question(), labels({0, 1, 3}), labels({1, 3, 4})).valid);
  EXPECT_FALSE(score_shortest_path(square_question(), labels({0, 1, 3}), labels({3, 1, 0})).valid);
  EXPECT_FALSE(score_shortest_path(square_question(), labels({0, 1, 3}), labels({0, 2, 0})).valid);
}

TEST(ScoreShortestPath, EdgesCountInBothOrientations) {
  // The prompt lists 3 1 and 2 3; the path walks them the other way round.
  GraphQuestion question = square_question();
  question.source = 1;
  question.target = 2;
  EXPECT_TRUE(score_shortest_path(question, labels({1, 0, 2}), labels({1, 3, 2})).valid);
}

TEST(ScoreShortestPath, NonLabelTokenIsNotValid) {
  std::vector<Token> decoded = labels({0, 1, 3});
  decoded[1] = graph_token::query;
  EXPECT_FALSE(score_shortest_path(square_question(), labels({0, 1, 3}), decoded).valid);
}

// The square with a leaf 5 on the source: 0-5 is an edge that leads away from t = 3.
GraphQuestion square_with_leaf() {
  GraphQuestion q = square_question();
  q.edges.emplace_back(5, 0);
  return q;
}

TEST(FirstHop, EitherOfTwoShortestPathsFirstStepsIsRight) {
  EXPECT_TRUE(score_shortest_path(square_with_leaf(), labels({0, 1, 3}), labels({0, 1, 3})).first_hop);
  EXPECT_TRUE(score_shortest_path(square_with_leaf(), labels({0, 1, 3}), labels({0, 2, 3})).first_hop);
}

TEST(FirstHop, JudgesTheFirstStepOnlyWhateverFollows) {
  // A right first step, then a wrong walk, or no <eos> at all: not valid, but the first hop is right.
  PathScore wandering = score_shortest_path(square_with_leaf(), labels({0, 1, 3}), labels({0, 2, 0, 1}));
  EXPECT_FALSE(wandering.valid);
  EXPECT_TRUE(wandering.first_hop);
  PathScore unfinished = score_shortest_path(square_with_leaf(), labels({0, 1, 3}), labels({0, 1}, false));
  EXPECT_FALSE(unfinished.valid);
  EXPECT_TRUE(unfinished.first_hop);
}

TEST(FirstHop, WrongFirstSteps) {
  const GraphQuestion q = square_with_leaf();
  const std::vector<Token> stored = labels({0, 1, 3});
  EXPECT_FALSE(score_shortest_path(q, stored, labels({0, 5, 0, 1, 3})).first_hop) << "an edge away from t";
  EXPECT_FALSE(score_shortest_path(q, stored, labels({0, 4, 3})).first_hop)
      << "4 is one hop from t but not a neighbour of s";
  EXPECT_FALSE(score_shortest_path(q, stored, labels({0, 0, 1, 3})).first_hop) << "standing still";
  EXPECT_FALSE(score_shortest_path(q, stored, labels({1, 3})).first_hop) << "does not start at s";
  EXPECT_FALSE(score_shortest_path(q, stored, labels({0})).first_hop) << "no step at all";
  EXPECT_FALSE(score_shortest_path(q, stored, labels({0, 9, 3})).first_hop) << "a label not in the graph";
  std::vector<Token> special_step = labels({0, 1, 3});
  special_step[1] = graph_token::query;
  EXPECT_FALSE(score_shortest_path(q, stored, special_step).first_hop) << "a special token";
}

TEST(FirstHop, OneEdgeQuestionsStepOntoTheTarget) {
  GraphQuestion q = square_with_leaf();
  q.source = 1;
  q.target = 3;
  EXPECT_TRUE(score_shortest_path(q, labels({1, 3}), labels({1, 3})).first_hop);
  EXPECT_FALSE(score_shortest_path(q, labels({1, 3}), labels({1, 0, 2, 3})).first_hop);
}

// Every error class, each on an answer built to be that kind of wrong (square_with_leaf: s = 0, t = 3,
// d(s, t) = 2, shortest paths 0 1 3 and 0 2 3).
TEST(PathErrors, EachClassOnAnAnswerBuiltToBeIt) {
  const GraphQuestion q = square_with_leaf();
  const std::vector<Token> stored = labels({0, 1, 3});
  auto verdict = [&](const std::vector<Token>& decoded) { return classify_path_answer(q, stored, decoded); };

  EXPECT_EQ(verdict(labels({0, 1, 3})).error, PathError::none);
  EXPECT_EQ(verdict(labels({0, 2, 3})).error, PathError::none) << "another shortest path is correct";

  EXPECT_EQ(verdict(labels({0, 1, 3}, false)).error, PathError::malformed) << "no <eos>";
  std::vector<Token> special_inside = labels({0, 1, 3});
  special_inside[1] = graph_token::yes;
  EXPECT_EQ(verdict(special_inside).error, PathError::malformed) << "a token that is not a vertex";
  EXPECT_EQ(verdict(std::vector<Token>{}).error, PathError::malformed);

  EXPECT_EQ(verdict(labels({1, 0, 3})).error, PathError::wrong_ends) << "starts at 1";
  EXPECT_EQ(verdict(labels({0, 1, 0})).error, PathError::wrong_ends) << "ends at 0";
  EXPECT_EQ(verdict(labels({})).error, PathError::wrong_ends) << "just <eos>";

  PathVerdict short_cut = verdict(labels({0, 3}));
  EXPECT_EQ(short_cut.error, PathError::too_short);
  EXPECT_EQ(short_cut.first_bad_hop, 1) << "0-3 is not an edge";

  PathVerdict detour = verdict(labels({0, 5, 0, 1, 3}));
  EXPECT_EQ(detour.error, PathError::too_long);
  EXPECT_EQ(detour.first_bad_hop, 0) << "a walk of real edges";
  EXPECT_EQ(verdict(labels({0, 1, 4, 3})).first_bad_hop, 2) << "too long, through the non-edge 1-4";
  EXPECT_EQ(verdict(labels({0, 1, 4, 3})).error, PathError::too_long);

  PathVerdict jump = verdict(labels({0, 4, 3}));
  EXPECT_EQ(jump.error, PathError::not_a_path);
  EXPECT_EQ(jump.first_bad_hop, 1);

  // A d = 3 question (5 to 3): 5 0 1 3 is a shortest path; 5 0 4 3 has its non-edge at hop 2.
  GraphQuestion far = q;
  far.source = 5;
  const std::vector<Token> far_stored = labels({5, 0, 1, 3});
  PathVerdict at_two = classify_path_answer(far, far_stored, labels({5, 0, 4, 3}));
  EXPECT_EQ(at_two.error, PathError::not_a_path);
  EXPECT_EQ(at_two.first_bad_hop, 2);
  EXPECT_EQ(classify_path_answer(far, far_stored, labels({5, 0, 2, 3})).error, PathError::none);
}

TEST(PathErrors, AgreeWithValidOnEveryAnswerOfASmallSpace) {
  // Every sequence of up to 4 labels from {0..5} (then <eos>), with and without <eos>: the error is
  // none exactly when score_shortest_path says valid.
  const GraphQuestion q = square_with_leaf();
  const std::vector<Token> stored = labels({0, 1, 3});
  long checked = 0;
  for (int length = 0; length <= 4; ++length) {
    int combos = 1;
    for (int i = 0; i < length; ++i) combos *= 6;
    for (int code = 0; code < combos; ++code) {
      std::vector<Token> decoded;
      for (int i = 0, c = code; i < length; ++i, c /= 6) decoded.push_back(label_token(c % 6));
      for (bool eos : {true, false}) {
        std::vector<Token> answer = decoded;
        if (eos) answer.push_back(special::eos);
        const bool valid = score_shortest_path(q, stored, answer).valid;
        EXPECT_EQ(classify_path_answer(q, stored, answer).error == PathError::none, valid);
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 2 * (1 + 6 + 36 + 216 + 1296));
}

TEST(ShortestPathCount, AgainstHandCountedGraphs) {
  EXPECT_EQ(count_shortest_paths(square_with_leaf()), 2u);  // 0 1 3 and 0 2 3
  GraphQuestion q = square_with_leaf();
  q.source = 5;
  q.target = 4;  // 5 0 {1,2} 3 4
  EXPECT_EQ(count_shortest_paths(q), 2u);
  q.source = 1;
  q.target = 2;  // 1 0 2 and 1 3 2
  EXPECT_EQ(count_shortest_paths(q), 2u);
  q.source = 0;
  q.target = 1;
  EXPECT_EQ(count_shortest_paths(q), 1u);
  // Two squares in a row: 0 -> 6 through {1,2} then {4,5}: 4 shortest paths.
  GraphQuestion ladder{{{0, 1}, {0, 2}, {1, 3}, {2, 3}, {3, 4}, {3, 5}, {4, 6}, {5, 6}}, 0, 6};
  EXPECT_EQ(count_shortest_paths(ladder), 4u);
  GraphQuestion apart{{{0, 1}, {2, 3}}, 0, 3};
  EXPECT_EQ(count_shortest_paths(apart), 0u);
}

TEST(ConnectivityErrors, FalseYesFalseNoAndMalformed) {
  const std::vector<Token> yes = {graph_token::yes, special::eos};
  const std::vector<Token> no = {graph_token::no, special::eos};
  EXPECT_EQ(classify_connectivity_answer(yes, yes), ConnectivityError::none);
  EXPECT_EQ(classify_connectivity_answer(no, no), ConnectivityError::none);
  EXPECT_EQ(classify_connectivity_answer(no, yes), ConnectivityError::false_yes);
  EXPECT_EQ(classify_connectivity_answer(yes, no), ConnectivityError::false_no);
  EXPECT_EQ(classify_connectivity_answer(yes, std::vector<Token>{graph_token::yes}),
            ConnectivityError::malformed);
  EXPECT_EQ(classify_connectivity_answer(yes, std::vector<Token>{label_token(0), special::eos}),
            ConnectivityError::malformed);
  EXPECT_EQ(classify_connectivity_answer(no, std::vector<Token>{}), ConnectivityError::malformed);
  // Agrees with score_connectivity on every two-token answer over these tokens.
  for (Token a : {graph_token::yes, graph_token::no, special::eos, label_token(1)}) {
    for (Token b : {graph_token::yes, graph_token::no, special::eos, label_token(1)}) {
      for (const auto& expected : {yes, no}) {
        const std::vector<Token> decoded = {a, b};
        EXPECT_EQ(classify_connectivity_answer(expected, decoded) == ConnectivityError::none,
                  score_connectivity(expected, decoded));
      }
    }
  }
}

TEST(ScoreConnectivity, ExactMatchOfTheAnswerThenEos) {
  const std::vector<Token> yes = {graph_token::yes, special::eos};
  const std::vector<Token> no = {graph_token::no, special::eos};
  EXPECT_TRUE(score_connectivity(yes, yes));
  EXPECT_TRUE(score_connectivity(no, no));
  EXPECT_FALSE(score_connectivity(yes, no));
  EXPECT_FALSE(score_connectivity(no, yes));
  EXPECT_FALSE(score_connectivity(yes, std::vector<Token>{graph_token::yes})) << "no <eos>";
  EXPECT_FALSE(score_connectivity(yes, std::vector<Token>{graph_token::yes, graph_token::yes}));
  EXPECT_FALSE(score_connectivity(yes, std::vector<Token>{}));
  EXPECT_TRUE(score_connectivity(yes, std::vector<Token>{graph_token::yes, special::eos, special::pad}));
}

TEST(ConnectivityTally, AccuracyAndBalancedAccuracyByHand) {
  ConnectivityTally tally;
  EXPECT_EQ(tally.accuracy(), 0.0);
  EXPECT_EQ(tally.balanced_accuracy(), 0.0);
  // connected: 3 of 4 right; not connected: 1 of 2 right.
  tally.add(true, true);
  tally.add(true, true);
  tally.add(true, true);
  tally.add(true, false);
  tally.add(false, true);
  tally.add(false, false);
  EXPECT_DOUBLE_EQ(tally.accuracy(), 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(tally.balanced_accuracy(), (3.0 / 4.0 + 1.0 / 2.0) / 2.0);
}

TEST(ConnectivityTally, AlwaysYesOnBalancedDataIsHalfBalancedAccuracy) {
  ConnectivityTally tally;
  for (int i = 0; i < 90; ++i) tally.add(true, true);  // imbalanced: 90 yes, 10 no, all answered yes
  for (int i = 0; i < 10; ++i) tally.add(false, false);
  EXPECT_DOUBLE_EQ(tally.accuracy(), 0.9);
  EXPECT_DOUBLE_EQ(tally.balanced_accuracy(), 0.5);
}

TEST(ConnectivityTally, OneClassOnlyAveragesOverThatClass) {
  ConnectivityTally tally;
  tally.add(false, true);
  tally.add(false, false);
  tally.add(false, true);
  tally.add(false, true);
  EXPECT_DOUBLE_EQ(tally.balanced_accuracy(), 0.75);
  EXPECT_DOUBLE_EQ(tally.accuracy(), 0.75);
}

}  // namespace
}  // namespace lab
