#include "generators/graph_generator.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <numeric>
#include <optional>

// vector_as_graph.hpp first, kept there from include sorting: Boost's algorithms find out_edges()
// and friends for std::vector graphs by ordinary lookup, so those overloads must be declared before
// the algorithms.
// clang-format off
#include <boost/graph/vector_as_graph.hpp>
// clang-format on

#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/edge_list.hpp>
#include <boost/graph/incremental_components.hpp>
#include <boost/pending/disjoint_sets.hpp>
#include <boost/range/iterator_range.hpp>

#include "core/error.h"
#include "generators/graph_labels.h"
#include "generators/rng.h"

namespace lab {
namespace {

// Adjacency lists as Boost.Graph sees a std::vector of vectors (boost/graph/vector_as_graph.hpp),
// each undirected edge as two arcs. The lists live in the thread's workspace and keep their capacity
// from example to example: a CSR graph allocated two arrays per example and sorted its arcs.
using Graph = std::vector<std::vector<int>>;
using Vertex = boost::graph_traits<Graph>::vertex_descriptor;

constexpr std::size_t kTest = 1;  // split numbers follow splits(): train, test

// Boost's BFS buffer concept over a reusable vector (std::deque would allocate on every BFS). With a
// distance limit it reads as empty once the next vertex is `limit` hops from the source: the search
// then stops with every vertex up to `limit` hops labelled and none beyond examined.
struct BfsQueue {
  std::vector<Vertex> items;
  std::size_t head = 0;
  const int* dist = nullptr;  // the search's distances, with a limit
  int limit = 0;

  void push(Vertex v) { items.push_back(v); }
  Vertex top() const { return items[head]; }
  void pop() { ++head; }
  bool empty() const { return head == items.size() || (dist != nullptr && dist[items[head]] >= limit); }
  void clear() {
    items.clear();
    head = 0;
    dist = nullptr;
  }
};

// Buffers reused from example to example by each generator thread (allocation was a fifth of the
// generator's time before).
struct Workspace {
  std::vector<std::pair<int, int>> edges;  // (u < v)
  Graph graph;                             // shortest path: adjacency lists of the first n vertices
  std::vector<std::vector<int>> spare;     // lists beyond n, kept for their capacity
  std::vector<int> dist;                   // all pairs: dist[s * n + t], -1 if unreachable
  std::vector<std::uint64_t> levels;  // graphs <= 64 vertices: levels[s * n + d], the vertices d hops from s
  std::vector<std::uint64_t> pairs_at;  // query pairs (a < b) at each hop distance
  std::vector<int> distances;           // the distances that occur
  std::vector<int> to_target;           // Boost BFS distances to the query's target
  std::vector<boost::default_color_type> colors;
  BfsQueue queue;
  std::vector<int> label;         // vertex -> label
  std::vector<int> component;     // connectivity: vertex -> its component's representative
  std::vector<int> rank, parent;  // connectivity: union-find
};

// G(n, p) on vertices 0..n-1 with p = degree / (n - 1); edges as (u < v) pairs.
void sample_edges(Rng& rng, int n, double degree, std::vector<std::pair<int, int>>& edges) {
  const std::uint64_t p = Rng::bernoulli_threshold(std::min(1.0, degree / (n - 1)));
  edges.resize(static_cast<std::size_t>(n) * (n - 1) / 2);  // room for every pair: no capacity checks
  std::size_t m = 0;
  for (int u = 0; u < n; ++u) {
    for (int v = u + 1; v < n; ++v) {
      edges[m] = {u, v};
      m += rng.bernoulli_below(p);
    }
  }
  edges.resize(m);
}

// The graph of `edges` on vertices 0..n-1 in ws.graph.
const Graph& build_graph(int n, const std::vector<std::pair<int, int>>& edges, Workspace& ws) {
  Graph& graph = ws.graph;
  for (; static_cast<int>(graph.size()) > n; graph.pop_back()) ws.spare.push_back(std::move(graph.back()));
  for (; static_cast<int>(graph.size()) < n; ws.spare.pop_back()) {
    if (ws.spare.empty()) ws.spare.emplace_back();
    graph.push_back(std::move(ws.spare.back()));
  }
  for (std::vector<int>& list : graph) list.clear();
  for (auto [u, v] : edges) {
    graph[u].push_back(v);
    graph[v].push_back(u);
  }
  return graph;
}

// Hop distances from s by Boost's BFS into dist[0, n); -1 where unreachable. With a limit >= 0, only
// the distances up to `limit` are found (the others stay -1): the vertices `limit` hops away are
// labelled but not examined.
void boost_bfs_distances(const Graph& graph, int n, int s, int* dist, Workspace& ws, int limit = -1) {
  std::fill(dist, dist + n, -1);
  dist[s] = 0;
  ws.colors.assign(n, boost::white_color);
  ws.queue.clear();
  if (limit >= 0) {
    ws.queue.dist = dist;
    ws.queue.limit = limit;
  }
  auto index = boost::get(boost::vertex_index, graph);
  boost::breadth_first_visit(graph, s, ws.queue,
                             boost::make_bfs_visitor(boost::record_distances(
                                 boost::make_iterator_property_map(dist, index), boost::on_tree_edge())),
                             boost::make_iterator_property_map(ws.colors.begin(), index));
}

// The vertices b > a: the candidate partners of a in the row-major order of pairs (a < b).
std::uint64_t above(int a) { return a == 63 ? 0 : ~0ULL << (a + 1); }

// std::popcount is a library call on the x86-64 baseline; where it matters, the function is also
// compiled for CPUs with the POPCNT instruction (every x86-64 CPU since 2008), chosen at load time.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LAB_POPCNT_CLONES __attribute__((target_clones("popcnt", "default")))
#else
#define LAB_POPCNT_CLONES
#endif

// The vertices at each hop distance from every source of a graph of up to 64 vertices, into ws.levels
// (levels[s * n + d]: the vertices d hops from s), and the number of pairs (a < b) at each distance,
// into ws.pairs_at. All sources advance together, one hop per round: the vertices within d + 1 hops of
// s are s's and its neighbours' within d. A round is one pass over the edges and one over the
// vertices, with no data-dependent branch (a BFS per source mispredicted the end of every frontier,
// and 16 Boost BFS runs per example before that were half the generator's time).
LAB_POPCNT_CLONES void distance_levels(const std::vector<std::pair<int, int>>& edges, int n, Workspace& ws) {
  assert(n <= 64);
  std::uint64_t within[64], grown[64];  // within[s]: the vertices at most d hops from s
  // Rows are written up to the last hop, which is all zeros, or to n - 1: no zero-fill needed.
  ws.levels.resize(static_cast<std::size_t>(n) * n);
  ws.pairs_at.assign(n, 0);
  for (int s = 0; s < n; ++s) {
    within[s] = 1ULL << s;
    ws.levels[static_cast<std::size_t>(s) * n] = within[s];
  }
  for (int d = 1; d < n; ++d) {
    std::copy(within, within + n, grown);
    for (auto [u, v] : edges) {
      grown[u] |= within[v];
      grown[v] |= within[u];
    }
    std::uint64_t any = 0;
    int pairs = 0;
    for (int s = 0; s < n; ++s) {
      const std::uint64_t level = grown[s] & ~within[s];
      ws.levels[static_cast<std::size_t>(s) * n + d] = level;
      pairs += std::popcount(level & above(s));
      any |= level;
      within[s] = grown[s];
    }
    ws.pairs_at[d] = pairs;
    if (any == 0) break;
  }
}

// All-pairs hop distances into ws.dist: from ws.levels up to 64 vertices (distance_levels first),
// one Boost BFS per source beyond. The answer itself always comes from Boost's BFS (see sample()), and
// tests check both against Floyd-Warshall.
void all_pairs_distances(const Graph& graph, int n, Workspace& ws) {
  ws.dist.assign(static_cast<std::size_t>(n) * n, -1);
  for (int s = 0; s < n; ++s) {
    int* row = ws.dist.data() + static_cast<std::size_t>(s) * n;
    if (n > 64) {
      boost_bfs_distances(graph, n, s, row, ws);
      continue;
    }
    const std::uint64_t* level = ws.levels.data() + static_cast<std::size_t>(s) * n;
    for (int d = 0; d < n && level[d] != 0; ++d) {
      for (std::uint64_t f = level[d]; f != 0; f &= f - 1) row[std::countr_zero(f)] = d;
    }
  }
}

// Connected components into ws.component (vertex -> a representative of its component) by
// Boost.Graph's incremental connected components: union-find over the edge list, on rank and parent
// arrays reused from example to example. No graph structure is built (connected_components needs the
// CSR graph and allocates a color map and a DFS stack per call: together a third of an example).
void boost_components(const std::vector<std::pair<int, int>>& edges, int n, Workspace& ws) {
  ws.rank.assign(n, 0);
  ws.parent.resize(n);
  auto rank = boost::make_iterator_property_map(ws.rank.begin(), boost::identity_property_map());
  auto parent = boost::make_iterator_property_map(ws.parent.begin(), boost::identity_property_map());
  boost::disjoint_sets<decltype(rank), decltype(parent)> sets(rank, parent);
  for (int v = 0; v < n; ++v) sets.make_set(v);
  boost::edge_list<std::vector<std::pair<int, int>>::const_iterator> graph(edges.begin(), edges.end());
  boost::incremental_components(graph, sets);
  ws.component.resize(n);
  for (int v = 0; v < n; ++v) ws.component[v] = sets.find_set(v);
}

// Connectivity queries of a graph of up to 64 vertices: partners[a], the vertices b > a in a's
// component (connected) or outside it; returns the number of such pairs (a < b).
LAB_POPCNT_CLONES std::uint64_t component_partners(const std::vector<int>& component, int n, bool connected,
                                                   std::uint64_t* partners) {
  assert(n <= 64);
  std::uint64_t members[64] = {};  // by component
  for (int v = 0; v < n; ++v) members[component[v]] |= 1ULL << v;
  std::uint64_t total = 0;
  for (int a = 0; a < n; ++a) {
    const std::uint64_t same = members[component[a]];
    partners[a] = (connected ? same : ~same) & above(a) & (n == 64 ? ~0ULL : (1ULL << n) - 1);
    total += static_cast<std::uint64_t>(std::popcount(partners[a]));
  }
  return total;
}

// The k-th pair (a < b) in row-major order among the pairs with b in partners[a].
std::pair<int, int> kth_pair_of(const std::uint64_t* partners, int n, std::uint64_t k) {
  for (int a = 0; a < n; ++a) {
    std::uint64_t row = partners[a];
    const auto count = static_cast<std::uint64_t>(std::popcount(row));
    if (k < count) {
      for (; k > 0; --k) row &= row - 1;
      return {a, std::countr_zero(row)};
    }
    k -= count;
  }
  return {-1, -1};
}

// Number of shortest s-t paths for every t, from s's BFS distances (layer by layer).
std::vector<std::uint64_t> shortest_path_counts(const Graph& graph, int n, const int* dist_s, int s) {
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return dist_s[a] < dist_s[b]; });
  std::vector<std::uint64_t> count(n, 0);
  count[s] = 1;
  for (int v : order) {
    if (dist_s[v] <= 0) continue;
    for (auto w : boost::make_iterator_range(boost::adjacent_vertices(Vertex(v), graph))) {
      if (dist_s[w] == dist_s[v] - 1) count[v] += count[w];
    }
  }
  return count;
}

// The shortest s-t path that is smallest label by label: from s, always step to the neighbour one hop
// closer to t with the smallest label. A fixed rule, so `exact` is learnable, not a coin toss.
void smallest_shortest_path(const Graph& graph, const int* to_t, int s, int t, const std::vector<int>& label,
                            std::vector<int>& path) {
  path.assign(1, s);
  for (int v = s; v != t;) {
    int best = -1;
    for (auto w : boost::make_iterator_range(boost::adjacent_vertices(Vertex(v), graph))) {
      if (to_t[w] == to_t[v] - 1 && (best < 0 || label[w] < label[best])) best = static_cast<int>(w);
    }
    v = best;
    path.push_back(v);
  }
}

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
