// The two-hop generator against a brute-force reading of each serialized example: every vertex label
// tried as the middle, the ends' neighbour lists rebuilt from the edge list. Examples are checked as
// tokens (what the dataset stores), parsed back with the graph tasks' parser.
#include "generators/two_hop_generator.h"

#include <map>
#include <set>

#include <gtest/gtest.h>

#include "core/error.h"

namespace lab::two_hop_test {
namespace {

constexpr std::size_t kTrain = 0;
constexpr std::size_t kTest = 1;

struct Decoded {
  GraphQuestion question;
  std::vector<Token> answer;
};

Decoded generate(const TwoHopGenerator& generator, std::size_t split, std::uint64_t index, int vertices) {
  std::vector<Token> tokens = {special::pad};  // generate appends: leave something in front
  const std::size_t prompt_length = generator.generate(split, index, tokens);
  std::span<const Token> example(tokens.data() + 1, tokens.size() - 1);
  auto question = parse_graph_prompt(example.first(prompt_length), {vertices, 2});
  EXPECT_TRUE(question.has_value()) << "example " << index << " has a malformed prompt";
  Decoded out;
  if (question) out.question = *question;
  out.answer.assign(example.begin() + prompt_length, example.end());
  return out;
}

TwoHopParams params(std::uint64_t seed, int vertices, int degree = 0) {
  TwoHopParams p;
  p.seed = seed;
  p.vertices = vertices;
  p.degree = degree;
  return p;
}

// Checks example `index` by brute force and returns whether it has a shared middle.
bool check_example(const Decoded& d, const TwoHopParams& p, std::uint64_t index) {
  const GraphQuestion& q = d.question;
  const int vertices = p.vertices, degree = p.resolved_degree();
  // Neighbour sets from the edge list, each edge once.
  std::map<int, std::set<int>> neighbours;
  std::set<std::pair<int, int>> seen;
  for (auto [u, v] : q.edges) {
    EXPECT_NE(u, v) << "example " << index;
    EXPECT_TRUE(seen.insert({std::min(u, v), std::max(u, v)}).second)
        << "example " << index << ": edge twice";
    neighbours[u].insert(v);
    neighbours[v].insert(u);
  }
  // Ends and middles: the graph is bipartite (a 2-colouring by search never meets an edge inside one
  // colour), s and t are ends of `degree` middles each, and there are |V|/2 x degree edges.
  std::map<int, int> colour;
  for (const auto& [start, unused] : neighbours) {
    if (colour.count(start)) continue;
    colour[start] = 0;
    std::vector<int> stack = {start};
    while (!stack.empty()) {
      const int u = stack.back();
      stack.pop_back();
      for (int v : neighbours[u]) {
        if (!colour.count(v)) {
          colour[v] = 1 - colour[u];
          stack.push_back(v);
        }
        EXPECT_NE(colour[v], colour[u])
            << "example " << index << ": edge " << u << "-" << v << " in one half";
      }
    }
  }
  EXPECT_EQ(static_cast<int>(neighbours[q.source].size()), degree) << "example " << index;
  EXPECT_EQ(static_cast<int>(neighbours[q.target].size()), degree) << "example " << index;
  EXPECT_EQ(static_cast<int>(q.edges.size()), vertices / 2 * degree) << "example " << index;
  EXPECT_NE(q.source, q.target) << "example " << index;
  // The brute force: every label of the vocabulary tried as the middle.
  std::vector<int> shared;
  for (int w = 0; w < vertices; ++w) {
    if (neighbours[q.source].count(w) && neighbours[q.target].count(w)) shared.push_back(w);
  }
  EXPECT_LE(shared.size(), 1u) << "example " << index << ": the ends share one middle or none";
  EXPECT_EQ(common_neighbours(q), shared) << "example " << index;
  std::vector<Token> expected;
  append_two_hop_answer(shared.empty() ? std::nullopt : std::optional<int>(shared[0]), expected);
  EXPECT_EQ(d.answer, expected) << "example " << index;
  return !shared.empty();
}

TEST(TwoHopGenerator, AnswersMatchABruteForceSearchOverAllMiddles) {
  for (auto [vertices, degree] : {std::pair{16, 0}, {24, 0}, {32, 0}, {32, 8}, {8, 2}, {4, 1}, {200, 0}}) {
    const TwoHopParams p = params(static_cast<std::uint64_t>(vertices), vertices, degree);
    TwoHopGenerator generator(p);
    for (std::size_t split : {kTrain, kTest}) {
      for (std::uint64_t i = 0; i < 300; ++i) {
        check_example(generate(generator, split, i, vertices), p, i);
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

TEST(TwoHopGenerator, TheTwoCasesAreHalfAndHalfOverTenThousandExamples) {
  for (int vertices : {16, 32}) {
    const TwoHopParams p = params(1, vertices);
    TwoHopGenerator generator(p);
    int with_middle = 0;
    constexpr int kExamples = 10'000;
    for (std::uint64_t i = 0; i < kExamples; ++i)
      with_middle += check_example(generate(generator, kTrain, i, vertices), p, i);
    // 50 +- 2%: over 4 standard deviations (0.5% each) of a fair coin.
    EXPECT_NEAR(with_middle / static_cast<double>(kExamples), 0.5, 0.02) << "|V| = " << vertices;
  }
}

TEST(TwoHopGenerator, MiddlesAndQueryEndsAreSpreadOverTheLabels) {
  // Labels are assigned at random per example, so no label is privileged as an answer.
  const TwoHopParams p = params(2, 16);
  TwoHopGenerator generator(p);
  std::map<int, int> answers;
  for (std::uint64_t i = 0; i < 4'000; ++i) {
    TwoHopSample sample = generator.sample(kTrain, i);
    if (sample.middle) ++answers[*sample.middle];
  }
  ASSERT_EQ(answers.size(), 16u);
  for (auto [label, count] : answers) EXPECT_GT(count, 60) << "label " << label;  // ~125 each expected
}

TEST(TwoHopGenerator, SampleDescribesTheGeneratedExampleAndIndexAndSeedDecide) {
  const TwoHopParams p = params(5, 16);
  TwoHopGenerator a(p), b(p), c(params(6, 16));
  int differ_seed = 0, differ_split = 0;
  for (std::uint64_t i = 0; i < 100; ++i) {
    const Decoded d = generate(a, kTrain, i, 16);
    const TwoHopSample s = a.sample(kTrain, i);
    EXPECT_EQ(d.question.edges, s.question.edges);
    EXPECT_EQ(d.question.source, s.question.source);
    EXPECT_EQ(d.question.target, s.question.target);
    std::vector<Token> ta, tb, tc, test;
    a.generate(kTrain, i, ta);
    b.generate(kTrain, i, tb);
    c.generate(kTrain, i, tc);
    a.generate(kTest, i, test);
    ASSERT_EQ(ta, tb);
    differ_seed += ta != tc;
    differ_split += ta != test;
  }
  EXPECT_EQ(differ_seed, 100);
  EXPECT_EQ(differ_split, 100);
}

TEST(TwoHopGenerator, ManifestParametersResolveTheDegreeAndNameTheLabelCount) {
  nlohmann::json parameters = TwoHopGenerator(params(0, 32)).parameters();
  EXPECT_EQ(parameters.at("degree"), 4);  // |V| / 8
  EXPECT_EQ(parameters.at("node_tokens"), 32);
  EXPECT_EQ(parameters.at("prompt_format"), 2);
  EXPECT_EQ(TwoHopGenerator(params(0, 4)).parameters().at("degree"), 1);  // at least one
}

TEST(TwoHopParams, BadValuesThrowErrorsNamingTheFlag) {
  struct Case {
    const char* flag;
    void (*edit)(TwoHopParams&);
  };
  const Case cases[] = {
      {"--vertices", [](TwoHopParams& p) { p.vertices = 15; }},  // odd
      {"--vertices", [](TwoHopParams& p) { p.vertices = 2; }},
      {"--vertices", [](TwoHopParams& p) { p.vertices = -16; }},
      {"--vertices", [](TwoHopParams& p) { p.vertices = 5000; }},  // beyond the label tokens
      {"--degree", [](TwoHopParams& p) { p.degree = 9; }},         // more than the 8 middles
      {"--degree", [](TwoHopParams& p) { p.degree = 5; }},         // over |V| / 4: <no> impossible
      {"--degree", [](TwoHopParams& p) { p.degree = -1; }},
      {"--count", [](TwoHopParams& p) { p.train_count = 0; }},
      {"--test-count", [](TwoHopParams& p) { p.test_count = 1'000'000'000'000ULL; }},
  };
  for (const Case& c : cases) {
    TwoHopParams p = params(1, 16);
    c.edit(p);
    std::string message;
    try {
      TwoHopGenerator generator(p);
    } catch (const Error& e) {
      message = e.what();
    }
    EXPECT_NE(message.find(c.flag), std::string::npos) << c.flag << ": '" << message << "'";
  }
}

}  // namespace
}  // namespace lab::two_hop_test
