#include "generators/graph_generator.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <numeric>
#include <optional>

#include "core/error.h"
#include "generators/graph_labels.h"
#include "generators/graph_search.h"
#include "generators/rng.h"

namespace lab {
namespace {

using namespace graph_search;

constexpr std::size_t kTest = 1;  // split numbers follow splits(): train, test

// A query (s, t) of a drawn graph, in vertex numbers, and its hop distance (shortest path).
struct Query {
  int s = -1, t = -1;
  int distance = 0;
};

// The k-th pair (a < b) in row-major order over n vertices for which `eligible(a, b)` holds, found
// by a scan rather than by storing the list; {-1, -1} if there are not k + 1.
template <typename Eligible>
std::pair<int, int> kth_pair(int n, Eligible eligible, std::uint64_t k) {
  for (int a = 0; a < n; ++a) {
    for (int b = a + 1; b < n; ++b) {
      if (eligible(a, b) && k-- == 0) return {a, b};
    }
  }
  return {-1, -1};
}

// Shortest path: on the graph of ws.edges over n vertices, the distance is drawn uniformly over the
// distances that occur (among pairs with a unique shortest path, with `unique_paths`), then the pair
// uniformly among the pairs at that distance, then its order. nullopt when the graph has no such pair.
// Leaves the graph's adjacency lists in ws.graph for shortest_path_answer().
std::optional<Query> draw_shortest_path_query(Rng& rng, int n, bool unique_paths, Workspace& ws) {
  const std::vector<std::pair<int, int>>& edges = ws.edges;
  const Graph& graph = build_graph(n, edges, ws);  // for Boost's BFS
  // Pairs by distance come from the bitset BFS levels up to 64 vertices, from the distance table
  // beyond and when only unique shortest paths count. Both give the same pairs in the same order.
  const bool bitsets = n <= 64 && !unique_paths;
  if (n <= 64) distance_levels(edges, n, ws);
  if (!bitsets) all_pairs_distances(graph, n, ws);
  const int* dist = ws.dist.data();
  std::vector<std::uint8_t> unique;  // unique[a * n + b]: exactly one shortest a-b path
  if (unique_paths) {
    unique.assign(static_cast<std::size_t>(n) * n, 0);
    for (int a = 0; a < n; ++a) {
      std::vector<std::uint64_t> counts = shortest_path_counts(graph, n, dist + a * n, a);
      for (int b = 0; b < n; ++b) unique[a * n + b] = counts[b] == 1;
    }
  }
  std::vector<std::uint64_t>& pairs_at = ws.pairs_at;  // counted by distance_levels() with bitsets
  if (!bitsets) {
    pairs_at.assign(n, 0);
    for (int a = 0; a < n; ++a) {
      for (int b = a + 1; b < n; ++b) {
        if (dist[a * n + b] > 0 && (unique.empty() || unique[a * n + b])) ++pairs_at[dist[a * n + b]];
      }
    }
  }
  std::vector<int>& distances = ws.distances;
  distances.clear();
  for (int d = 1; d < n; ++d) {
    if (pairs_at[d] > 0) distances.push_back(d);
  }
  if (distances.empty()) return std::nullopt;  // no edge at all (or no unique path)
  Query query;
  const int d = query.distance = distances[rng.uniform(distances.size())];
  const std::uint64_t k = rng.uniform(pairs_at[d]);
  if (bitsets) {
    std::uint64_t partners[64];
    for (int a = 0; a < n; ++a) partners[a] = ws.levels[static_cast<std::size_t>(a) * n + d] & above(a);
    std::tie(query.s, query.t) = kth_pair_of(partners, n, k);
  } else {
    std::tie(query.s, query.t) = kth_pair(
        n, [&](int a, int b) { return dist[a * n + b] == d && (unique.empty() || unique[a * n + b]); }, k);
  }
  if (rng.bernoulli(0.5)) std::swap(query.s, query.t);
  return query;
}

// The answer of a shortest-path query, from Boost.Graph's BFS on ws.graph: distances to t, then the
// smallest-label shortest path, as labels.
void shortest_path_answer(int n, const Query& query, const std::vector<int>& label, Workspace& ws,
                          std::vector<int>& path) {
  const Graph& graph = ws.graph;
  const int s = query.s, t = query.t, d = query.distance;
  ws.to_target.resize(n);
  // Only the vertices up to d hops from t are on a shortest s-t path or next to one.
  boost_bfs_distances(graph, n, t, ws.to_target.data(), ws, d);
#ifndef NDEBUG  // Boost's distances agree with a full distance table
  all_pairs_distances(graph, n, ws);
  for (int v = 0; v < n; ++v) {
    const int want = ws.dist[static_cast<std::size_t>(t) * n + v];
    assert(ws.to_target[v] == (want <= d ? want : -1));
  }
#endif
  smallest_shortest_path(graph, ws.to_target.data(), s, t, label, path);
  for (int& v : path) v = label[v];
}

// Connectivity: a pair of the drawn label (`connected` or not) on the graph of ws.edges over n
// vertices, uniformly among the pairs with that label, then its order. nullopt when there is none.
std::optional<Query> draw_connectivity_query(Rng& rng, int n, bool connected, Workspace& ws) {
  boost_components(ws.edges, n, ws);
  const std::vector<int>& component = ws.component;
  // The eligible pairs, (a < b) in row-major order: by bitmasks up to 64 vertices, else by a scan.
  auto eligible = [&](int a, int b) { return (component[a] == component[b]) == connected; };
  std::uint64_t partners[64];
  std::uint64_t candidates = 0;
  if (n <= 64) {
    candidates = component_partners(component, n, connected, partners);
  } else {
    for (int a = 0; a < n; ++a) {
      for (int b = a + 1; b < n; ++b) candidates += eligible(a, b);
    }
  }
  if (candidates == 0) return std::nullopt;
  const std::uint64_t k = rng.uniform(candidates);
  Query query;
  std::tie(query.s, query.t) = n <= 64 ? kth_pair_of(partners, n, k) : kth_pair(n, eligible, k);
  if (rng.bernoulli(0.5)) std::swap(query.s, query.t);
  return query;
}

}  // namespace

void GraphParams::validate() const {
  if (task != TaskKind::shortest_path && task != TaskKind::connectivity)
    fail("the graph generator cannot draw '{}' problems", enum_name(task));
  check_field_ranges(*this);
  if (nodes_min > nodes_max) fail("--nodes-min ({}) must not exceed --nodes-max ({})", nodes_min, nodes_max);
  if (node_tokens < nodes_max) {
    fail("--node-tokens ({}) must be at least --nodes-max ({}): every vertex needs its own label",
         node_tokens, nodes_max);
  }
  if (!(degree <= nodes_min - 1)) {
    fail("--degree ({}) must be at most --nodes-min - 1 ({}): a graph cannot have a higher mean degree",
         degree, nodes_min - 1);
  }
}

GraphParams graph_defaults(TaskKind task) {
  GraphParams params;
  params.task = task;
  if (task == TaskKind::connectivity) params.degree = 1.5;
  return params;
}

namespace {
const GraphParams& validated(const GraphParams& params) {
  params.validate();
  return params;
}
}  // namespace

// Validates before building the vocabulary, which would otherwise allocate --node-tokens labels first.
GraphGenerator::GraphGenerator(GraphParams params)
    : params_(validated(params)), vocabulary_(graph_vocabulary(params_.format())) {}

GraphFormat graph_format_of(const nlohmann::json& manifest) {
  try {
    const nlohmann::json& parameters = manifest.at("parameters");
    return {parameters.at("node_tokens").get<int>(), parameters.value("prompt_format", 1)};
  } catch (const nlohmann::json::exception& e) {
    fail("the dataset's manifest has no usable graph parameters ({}); regenerate the dataset", e.what());
  }
}

std::vector<SplitSpec> GraphGenerator::splits() const {
  return {{"train", params_.train_count}, {"test", params_.test_count}};
}

nlohmann::json GraphGenerator::parameters() const {
  nlohmann::json p = manifest_parameters(params_);
  p["test_partition"] = kTestPartition;
  return p;
}

GraphSample GraphGenerator::sample(std::size_t split, std::uint64_t index) const {
  GraphSample result;
  std::vector<Token> prompt;
  draw(split, index, result, prompt);
  return result;
}

void GraphGenerator::draw(std::size_t split, std::uint64_t index, GraphSample& result,
                          std::vector<Token>& prompt) const {
  static thread_local Workspace ws;
  Rng rng(params_.seed, split, index);
  const bool shortest = params_.task == TaskKind::shortest_path;
  // Connectivity draws its label first so that yes and no are exactly 50/50 in expectation.
  const bool want_connected = !shortest && rng.bernoulli(0.5);
  // Parameters can make a draw (nearly) impossible: complete graphs are never disconnected, and a tiny
  // prompt space may hold no prompt of this split's partition. Fail then instead of looping forever.
  constexpr int kMaxDraws = 100'000;
  for (int draws = 0;; ++draws) {
    if (draws == kMaxDraws) {
      fail(
          "no usable graph for example {} of split {} in {} draws: --nodes-min {} --nodes-max {} "
          "--node-tokens {} --degree {} allow too few distinct examples{}; use larger graphs, more node "
          "tokens or another --degree",
          index, split == kTest ? "test" : "train", kMaxDraws, params_.nodes_min, params_.nodes_max,
          params_.node_tokens, params_.degree,
          !shortest && !want_connected ? " (graphs are almost never disconnected)" : "");
    }
    const int n = rng.uniform_int(params_.nodes_min, params_.nodes_max);
    sample_edges(rng, n, params_.degree, ws.edges);
    const std::optional<Query> query = shortest ? draw_shortest_path_query(rng, n, params_.unique_paths, ws)
                                                : draw_connectivity_query(rng, n, want_connected, ws);
    if (!query) continue;  // this graph cannot provide a query (of the drawn label): redraw it
    sample_labels(rng, n, params_.node_tokens, ws.label);
    result.nodes = n;
    result.connected = want_connected;
    result.path.clear();
    if (shortest) shortest_path_answer(n, *query, ws.label, ws, result.path);
    present_edges(rng, ws.edges, ws.label, result.question.edges);  // after the answer, which draws nothing
    result.question.source = ws.label[query->s];
    result.question.target = ws.label[query->t];

    // Keep the draw only if its prompt lies in this split's partition.
    prompt.clear();
    append_graph_prompt(result.question, params_.format(), prompt);
    if (prompt_fits_split(prompt, split == kTest, kTestPartition)) return;
  }
}

std::size_t GraphGenerator::generate(std::size_t split, std::uint64_t index, std::vector<Token>& out) const {
  static thread_local GraphSample drawn;  // buffers reused from example to example
  static thread_local std::vector<Token> prompt;
  draw(split, index, drawn, prompt);
  out.insert(out.end(), prompt.begin(), prompt.end());
  if (params_.task == TaskKind::shortest_path) {
    append_path_answer(drawn.path, out);
  } else {
    append_connectivity_answer(drawn.connected, out);
  }
  return prompt.size();
}

}  // namespace lab
