// The graph generators against references written in the test: Floyd-Warshall distances, shortest
// paths enumerated by depth-first search, union-find components. Examples are checked as serialized
// tokens (what the dataset stores), parsed back with the task's parser.
#include "generators/graph_generator.h"

#include <cmath>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/generators/graph_checks.h"

namespace lab {
namespace {

using test::all_shortest_paths;
using test::floyd_warshall;
using test::kUnreachable;
using test::LabelGraph;
using test::UnionFind;

constexpr std::size_t kTrain = 0;
constexpr std::size_t kTest = 1;

struct Decoded {
  GraphQuestion question;
  std::vector<Token> answer;
};

Decoded generate(const GraphGenerator& generator, std::size_t split, std::uint64_t index,
                 GraphFormat format) {
  std::vector<Token> tokens = {special::pad};  // generate appends: leave something in front
  const std::size_t prompt_length = generator.generate(split, index, tokens);
  std::span<const Token> example(tokens.data() + 1, tokens.size() - 1);
  auto question = parse_graph_prompt(example.first(prompt_length), format);
  EXPECT_TRUE(question.has_value()) << "example " << index << " has a malformed prompt";
  Decoded out;
  if (question) out.question = *question;
  out.answer.assign(example.begin() + prompt_length, example.end());
  return out;
}

// Structural rules every graph prompt follows: distinct simple edges, s != t, at most nodes_max
// vertices, labels below node_tokens (checked by the parser).
void expect_well_formed(const GraphQuestion& q, const GraphParams& p, std::uint64_t index) {
  std::set<std::pair<int, int>> seen;
  std::set<int> vertices = {q.source, q.target};
  for (auto [u, v] : q.edges) {
    ASSERT_NE(u, v) << "example " << index << ": self-loop";
    ASSERT_TRUE(seen.insert({std::min(u, v), std::max(u, v)}).second)
        << "example " << index << ": edge twice";
    vertices.insert(u);
    vertices.insert(v);
  }
  ASSERT_NE(q.source, q.target) << "example " << index;
  ASSERT_LE(static_cast<int>(vertices.size()), p.nodes_max) << "example " << index;
}

GraphParams shortest_path_params(std::uint64_t seed) {
  GraphParams p;
  p.task = TaskKind::shortest_path;
  p.seed = seed;
  p.train_count = 1'000'000;
  p.test_count = 1'000;
  return p;
}

GraphParams connectivity_params(std::uint64_t seed) {
  GraphParams p = shortest_path_params(seed);
  p.task = TaskKind::connectivity;
  p.degree = 1.5;
  return p;
}

TEST(ShortestPathGenerator, StoredPathsAreShortestByFloydWarshallAndScoreValid) {
  const GraphParams p = shortest_path_params(11);
  GraphGenerator generator(p);
  std::map<int, long> hops;
  double edges = 0;
  std::vector<long> label_uses(p.node_tokens, 0);
  const int examples = 3000;
  for (int i = 0; i < examples; ++i) {
    const std::size_t split = i % 4 == 3 ? kTest : kTrain;
    Decoded d = generate(generator, split, i, p.format());
    expect_well_formed(d.question, p, i);
    LabelGraph graph(d.question, p.node_tokens);
    auto dist = floyd_warshall(graph);
    const int s = d.question.source, t = d.question.target;
    ASSERT_LT(dist[s][t], kUnreachable) << "example " << i << ": the query is not connected";

    auto path = parse_path_answer(d.answer, p.node_tokens);
    ASSERT_TRUE(path.has_value()) << "example " << i;
    ASSERT_EQ(d.answer.back(), special::eos);
    ASSERT_EQ(path->front(), s);
    ASSERT_EQ(path->back(), t);
    for (std::size_t k = 0; k + 1 < path->size(); ++k) {
      ASSERT_TRUE(graph.adjacent[(*path)[k]][(*path)[k + 1]]) << "example " << i << ": step " << k;
    }
    ASSERT_EQ(static_cast<int>(path->size()) - 1, dist[s][t]) << "example " << i;

    PathScore score = score_shortest_path(d.question, d.answer, d.answer);
    ASSERT_TRUE(score.valid && score.exact) << "example " << i;

    // The documented rule: the lexicographically smallest shortest path, label by label.
    auto paths = all_shortest_paths(graph, dist, s, t);
    ASSERT_EQ(*path, *std::min_element(paths.begin(), paths.end())) << "example " << i;
    // Every other shortest path scores valid but not exact.
    for (const auto& other : paths) {
      std::vector<Token> decoded;
      append_path_answer(other, decoded);
      ASSERT_TRUE(score_shortest_path(d.question, d.answer, decoded).valid);
      ASSERT_EQ(score_shortest_path(d.question, d.answer, decoded).exact, other == *path);
    }

    ++hops[dist[s][t]];
    edges += static_cast<double>(d.question.edges.size());
    for (int label = 0; label < p.node_tokens; ++label) {
      label_uses[label] +=
          std::any_of(graph.adjacent[label].begin(), graph.adjacent[label].end(), [](bool b) { return b; });
    }
  }
  // G(n, degree / (n - 1)) has degree * n / 2 edges on average; n is uniform in 8..16 (mean 12).
  EXPECT_NEAR(edges / examples, p.degree * 12 / 2, 0.6);
  // Labels are a random injective map: every label is used about equally often.
  const double mean_uses = std::accumulate(label_uses.begin(), label_uses.end(), 0.0) / p.node_tokens;
  for (int label = 0; label < p.node_tokens; ++label) {
    EXPECT_NEAR(label_uses[label], mean_uses, 6 * std::sqrt(mean_uses)) << "label " << label;
  }
  EXPECT_GE(hops.size(), 4u) << "shortest paths should have several lengths";
}

TEST(ShortestPathGenerator, QueryDistanceIsUniformOverTheDistancesOfItsGraph) {
  // TASKS.md: d(s, t) is drawn uniformly over the distances that occur in the graph, not over pairs.
  // Given the graph, distance d has probability [d occurs] / (number of distinct distances); summing
  // that over examples predicts each distance's count, which the observed counts must match.
  const GraphParams p = shortest_path_params(12);
  GraphGenerator generator(p);
  const int examples = 4000;
  std::map<int, double> expected;
  std::map<int, long> observed;
  for (int i = 0; i < examples; ++i) {
    Decoded d = generate(generator, kTrain, i, p.format());
    LabelGraph graph(d.question, p.node_tokens);
    auto dist = floyd_warshall(graph);
    std::set<int> occurring;
    for (int a = 0; a < p.node_tokens; ++a) {
      for (int b = a + 1; b < p.node_tokens; ++b) {
        if (dist[a][b] < kUnreachable) occurring.insert(dist[a][b]);
      }
    }
    for (int distance : occurring) expected[distance] += 1.0 / static_cast<double>(occurring.size());
    ++observed[dist[d.question.source][d.question.target]];
  }
  for (auto [distance, mean] : expected) {
    EXPECT_NEAR(observed[distance], mean, 6 * std::sqrt(mean) + 3) << "distance " << distance;
  }
  // Long paths are not rare: distances 1, 2, 3 and 4 each take a good share.
  for (int distance = 1; distance <= 4; ++distance) {
    EXPECT_GT(observed[distance], examples / 12) << "distance " << distance;
  }
  EXPECT_GT(observed.rbegin()->first, 6) << "the longest distances should appear too";
}

TEST(ShortestPathGenerator, GraphsAroundSixtyFourVerticesAreShortestAndUniformOverDistances) {
  // Up to 64 vertices the query is drawn from bitset BFS levels, beyond from a Boost BFS table: both
  // sides of the switch must give shortest paths and distances uniform over those of the graph.
  GraphParams p = shortest_path_params(13);
  p.nodes_min = 56;
  p.nodes_max = 72;
  p.node_tokens = 80;
  p.degree = 2.5;
  GraphGenerator generator(p);
  const int examples = 3000;
  std::map<int, double> expected;
  std::map<int, long> observed;
  int large = 0;
  for (int i = 0; i < examples; ++i) {
    Decoded d = generate(generator, kTrain, i, p.format());
    large += generator.sample(kTrain, i).nodes > 64;
    LabelGraph graph(d.question, p.node_tokens);
    auto dist = floyd_warshall(graph);
    const int s = d.question.source, t = d.question.target;
    auto path = parse_path_answer(d.answer, p.node_tokens);
    ASSERT_TRUE(path.has_value()) << "example " << i;
    ASSERT_EQ(static_cast<int>(path->size()) - 1, dist[s][t]) << "example " << i;
    ASSERT_TRUE(score_shortest_path(d.question, d.answer, d.answer).valid) << "example " << i;
    std::set<int> occurring;
    for (int a = 0; a < p.node_tokens; ++a) {
      for (int b = a + 1; b < p.node_tokens; ++b) {
        if (dist[a][b] < kUnreachable) occurring.insert(dist[a][b]);
      }
    }
    for (int distance : occurring) expected[distance] += 1.0 / static_cast<double>(occurring.size());
    ++observed[dist[s][t]];
  }
  EXPECT_GT(large, examples / 6) << "too few graphs over 64 vertices to test that path";
  EXPECT_LT(large, examples * 5 / 6) << "too few graphs of at most 64 vertices to test that path";
  for (auto [distance, mean] : expected) {
    EXPECT_NEAR(observed[distance], mean, 6 * std::sqrt(mean) + 3) << "distance " << distance;
  }
}

TEST(ShortestPathGenerator, UniquePathsQueriesHaveExactlyOneShortestPath) {
  GraphParams p = shortest_path_params(13);
  p.unique_paths = true;
  GraphGenerator generator(p);
  std::map<int, long> hops;
  for (int i = 0; i < 2000; ++i) {
    Decoded d = generate(generator, i % 2 == 0 ? kTrain : kTest, i, p.format());
    expect_well_formed(d.question, p, i);
    LabelGraph graph(d.question, p.node_tokens);
    auto dist = floyd_warshall(graph);
    auto paths = all_shortest_paths(graph, dist, d.question.source, d.question.target);
    ASSERT_EQ(paths.size(), 1u) << "example " << i << " has " << paths.size() << " shortest paths";
    auto path = parse_path_answer(d.answer, p.node_tokens);
    ASSERT_TRUE(path.has_value());
    ASSERT_EQ(*path, paths[0]);
    ++hops[dist[d.question.source][d.question.target]];
  }
  EXPECT_GE(hops.size(), 3u);
}

TEST(ShortestPathGenerator, WithoutUniquePathsSomeQueriesHaveSeveralShortestPaths) {
  // Otherwise the UniquePaths test above would pass for a generator that ignores the flag.
  GraphGenerator generator(shortest_path_params(13));
  int several = 0;
  for (int i = 0; i < 1000; ++i) {
    Decoded d = generate(generator, kTrain, i, GraphFormat{32});
    LabelGraph graph(d.question, 32);
    auto dist = floyd_warshall(graph);
    several += all_shortest_paths(graph, dist, d.question.source, d.question.target, 2).size() > 1;
  }
  EXPECT_GT(several, 50);
}

TEST(ShortestPathGenerator, SampleDescribesTheGeneratedExample) {
  const GraphParams p = shortest_path_params(14);
  GraphGenerator generator(p);
  for (std::uint64_t i = 0; i < 200; ++i) {
    GraphSample sample = generator.sample(kTrain, i);
    EXPECT_GE(sample.nodes, p.nodes_min);
    EXPECT_LE(sample.nodes, p.nodes_max);
    std::vector<Token> expected;
    append_graph_prompt(sample.question, p.format(), expected);
    append_path_answer(sample.path, expected);
    std::vector<Token> tokens;
    generator.generate(kTrain, i, tokens);
    ASSERT_EQ(tokens, expected) << "example " << i;
  }
}

TEST(ConnectivityGenerator, LabelsMatchUnionFindAndAreBalanced) {
  const GraphParams p = connectivity_params(21);
  GraphGenerator generator(p);
  for (std::size_t split : {kTrain, kTest}) {
    const int examples = 10'000;
    long connected = 0;
    std::map<std::size_t, long> edge_counts;
    for (int i = 0; i < examples; ++i) {
      Decoded d = generate(generator, split, i, p.format());
      expect_well_formed(d.question, p, i);
      UnionFind components(p.node_tokens);
      for (auto [u, v] : d.question.edges) components.unite(u, v);
      const bool truth = components.find(d.question.source) == components.find(d.question.target);
      ASSERT_EQ(d.answer.size(), 2u);
      ASSERT_EQ(d.answer[0], truth ? graph_token::yes : graph_token::no)
          << "split " << split << " example " << i;
      ASSERT_EQ(d.answer[1], special::eos);
      ASSERT_TRUE(score_connectivity(d.answer, d.answer));
      connected += truth;
      ++edge_counts[d.question.edges.size()];
    }
    const double share = static_cast<double>(connected) / examples;
    EXPECT_NEAR(share, 0.5, 0.02) << "split " << split;
    EXPECT_GE(edge_counts.size(), 8u) << "graphs should vary in size";
  }
}

TEST(GraphGenerator, BothPromptFormatsHoldDelimitedOrFlatEdgesWithCheckedAnswers) {
  for (int format : {1, 2}) {
    for (GraphParams p : {shortest_path_params(31), connectivity_params(31)}) {
      SCOPED_TRACE(::testing::Message() << "format " << format << ", task " << p.task);
      p.prompt_format = format;
      GraphGenerator generator(p);
      EXPECT_EQ(generator.parameters().at("prompt_format"), format);
      EXPECT_EQ(generator.vocabulary().size(), static_cast<std::size_t>(7 + p.node_tokens + (format == 2)));
      for (int i = 0; i < 300; ++i) {
        std::vector<Token> tokens;
        const std::size_t prompt_length = generator.generate(i % 4 == 3 ? kTest : kTrain, i, tokens);
        Decoded d = generate(generator, i % 4 == 3 ? kTest : kTrain, i, p.format());
        expect_well_formed(d.question, p, i);
        ASSERT_EQ(prompt_length, 5 + d.question.edges.size() * (format == 2 ? 3 : 2)) << i;
        for (std::size_t e = 0; format == 2 && e < d.question.edges.size(); ++e) {
          ASSERT_EQ(tokens[1 + 3 * e], p.format().edge_token()) << "example " << i << " edge " << e;
        }
        if (!d.question.edges.empty()) {  // <bos> <q> s t <sep> is the same in both formats
          ASSERT_FALSE(
              parse_graph_prompt(std::span(tokens).first(prompt_length), {p.node_tokens, 3 - format}))
              << "example " << i << " also parses in the other format";
        }
        LabelGraph graph(d.question, p.node_tokens);
        auto dist = floyd_warshall(graph);
        const int s = d.question.source, t = d.question.target;
        if (p.task == TaskKind::shortest_path) {
          ASSERT_TRUE(score_shortest_path(d.question, d.answer, d.answer).valid) << i;
          ASSERT_EQ(static_cast<int>(d.answer.size()) - 2, dist[s][t]) << i;
        } else {
          ASSERT_EQ(d.answer[0] == graph_token::yes, dist[s][t] < kUnreachable) << i;
        }
      }
    }
  }
}

TEST(GraphGenerator, SameIndexSameExampleDifferentSeedOrSplitDifferentExample) {
  GraphGenerator a(shortest_path_params(5)), b(shortest_path_params(5)), c(shortest_path_params(6));
  int differ_seed = 0, differ_split = 0;
  for (std::uint64_t i = 0; i < 100; ++i) {
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

std::string error_of(const GraphParams& params) {
  try {
    GraphGenerator generator(params);
    std::vector<Token> tokens;
    generator.generate(0, 0, tokens);
    generator.generate(1, 0, tokens);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(GraphParams, BadValuesThrowErrorsNamingTheFlag) {
  struct Case {
    const char* flag;
    void (*edit)(GraphParams&);
  };
  const Case cases[] = {
      {"--nodes-min", [](GraphParams& p) { p.nodes_min = 12, p.nodes_max = 10; }},
      {"--nodes-min", [](GraphParams& p) { p.nodes_min = 1; }},
      {"--node-tokens", [](GraphParams& p) { p.node_tokens = 15; }},
      {"--node-tokens", [](GraphParams& p) { p.node_tokens = 100'000; }},
      {"--node-tokens", [](GraphParams& p) { p.node_tokens = 1'000'000'000; }},  // rejected before allocating
      {"--degree", [](GraphParams& p) { p.degree = 0; }},
      {"--degree", [](GraphParams& p) { p.degree = -1; }},
      {"--degree", [](GraphParams& p) { p.degree = std::nan(""); }},
      {"--degree", [](GraphParams& p) { p.degree = 8; }},  // above nodes_min - 1 = 7
      {"--count", [](GraphParams& p) { p.train_count = 0; }},
      {"--count", [](GraphParams& p) { p.train_count = 1'000'000'000'000ULL; }},
      {"--test-count", [](GraphParams& p) { p.test_count = 1'000'000'000'000ULL; }},
  };
  for (TaskKind task : {TaskKind::shortest_path, TaskKind::connectivity}) {
    for (const Case& c : cases) {
      GraphParams p = task == TaskKind::shortest_path ? shortest_path_params(1) : connectivity_params(1);
      c.edit(p);
      std::string message = error_of(p);
      EXPECT_NE(message.find(c.flag), std::string::npos) << c.flag << ": '" << message << "'";
    }
  }
}

TEST(GraphParams, ImpossibleConnectivityLabelsFailInsteadOfLoopingForever) {
  // Complete graphs (p = 1) are never disconnected, so a <no> example cannot be drawn.
  GraphParams p = connectivity_params(1);
  p.nodes_min = p.nodes_max = 6;
  p.degree = 5;
  std::string message;
  try {
    GraphGenerator generator(p);
    std::vector<Token> tokens;
    for (std::uint64_t i = 0; i < 64; ++i) generator.generate(kTrain, i, tokens);
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("--degree"), std::string::npos) << "'" << message << "'";
}

TEST(GraphParams, TinyPromptSpacesFailInsteadOfLoopingForever) {
  // Two vertices with two labels give 4 distinct prompts; if none falls in the test partition, the test
  // split cannot be drawn at all. Either way generation must end (with examples or a lab::Error).
  for (std::uint64_t seed = 0; seed < 4; ++seed) {
    GraphParams p = shortest_path_params(seed);
    p.nodes_min = p.nodes_max = p.node_tokens = 2;
    p.degree = 1;
    GraphGenerator generator(p);
    std::vector<Token> tokens;
    try {
      generator.generate(kTest, 0, tokens);
      std::set<std::vector<Token>> train;
      for (std::uint64_t i = 0; i < 200; ++i) {
        std::vector<Token> example;
        std::size_t prompt = generator.generate(kTrain, i, example);
        train.insert(std::vector<Token>(example.begin(), example.begin() + prompt));
      }
      EXPECT_LE(train.size(), 4u);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--node"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace lab
