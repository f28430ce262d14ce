#include "generators/graph_generator.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <numeric>

#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/compressed_sparse_row_graph.hpp>
#include <boost/graph/connected_components.hpp>
#include <boost/range/iterator_range.hpp>

#include "core/error.h"
#include "generators/rng.h"

namespace lab {
namespace {

// Every undirected edge is stored as two arcs. A CSR graph is two flat arrays: building one per
// example costs two allocations instead of one per vertex, which is most of the generator's time.
using Graph = boost::compressed_sparse_row_graph<boost::directedS>;

constexpr std::size_t kTest = 1;  // split numbers follow splits(): train, test

// Boost's BFS buffer concept over a reusable vector (std::deque would allocate on every BFS).
struct BfsQueue {
  std::vector<Graph::vertex_descriptor> items;
  std::size_t head = 0;

  void push(Graph::vertex_descriptor v) { items.push_back(v); }
  Graph::vertex_descriptor top() const { return items[head]; }
  void pop() { ++head; }
  bool empty() const { return head == items.size(); }
  void clear() {
    items.clear();
    head = 0;
  }
};

// Buffers reused from example to example by each generator thread (allocation was a fifth of the
// generator's time before).
struct Workspace {
  std::vector<std::pair<int, int>> edges;  // (u < v)
  std::vector<std::pair<int, int>> arcs;   // both directions, for the CSR graph
  std::vector<int> dist;                   // all pairs: dist[s * n + t], -1 if unreachable
  std::vector<int> to_target;              // Boost BFS distances to the query's target
  std::vector<boost::default_color_type> colors;
  BfsQueue queue;
  std::vector<int> label_pool;
  std::vector<Token> prompt;
};

// G(n, p) on vertices 0..n-1 with p = degree / (n - 1); edges as (u < v) pairs.
void sample_edges(Rng& rng, int n, double degree, std::vector<std::pair<int, int>>& edges) {
  const double p = std::min(1.0, degree / (n - 1));
  edges.clear();
  for (int u = 0; u < n; ++u) {
    for (int v = u + 1; v < n; ++v) {
      if (rng.bernoulli(p)) edges.emplace_back(u, v);
    }
  }
}

Graph build_graph(int n, const std::vector<std::pair<int, int>>& edges, Workspace& ws) {
  ws.arcs.clear();
  for (auto [u, v] : edges) {
    ws.arcs.emplace_back(u, v);
    ws.arcs.emplace_back(v, u);
  }
  return Graph(boost::edges_are_unsorted_multi_pass, ws.arcs.begin(), ws.arcs.end(), n);
}

// Hop distances from s by Boost's BFS into dist[0, n); -1 where unreachable.
void boost_bfs_distances(const Graph& graph, int n, int s, int* dist, Workspace& ws) {
  std::fill(dist, dist + n, -1);
  dist[s] = 0;
  ws.colors.assign(n, boost::white_color);
  ws.queue.clear();
  auto index = boost::get(boost::vertex_index, graph);
  boost::breadth_first_visit(graph, s, ws.queue,
                             boost::make_bfs_visitor(boost::record_distances(
                                 boost::make_iterator_property_map(dist, index), boost::on_tree_edge())),
                             boost::make_iterator_property_map(ws.colors.begin(), index));
}

// All-pairs hop distances into ws.dist, used to draw the query. Up to 64 vertices a BFS is a few
// word operations per level on adjacency bitmasks (16 Boost BFS runs per example were half the
// generator's time); larger graphs take one Boost BFS per source. The answer itself always comes from
// Boost's BFS (see sample()), and tests check both against Floyd-Warshall.
void all_pairs_distances(const Graph& graph, const std::vector<std::pair<int, int>>& edges, int n,
                         Workspace& ws) {
  ws.dist.assign(static_cast<std::size_t>(n) * n, -1);
  if (n > 64) {
    for (int s = 0; s < n; ++s)
      boost_bfs_distances(graph, n, s, ws.dist.data() + static_cast<std::size_t>(s) * n, ws);
    return;
  }
  std::uint64_t adjacent[64] = {};
  for (auto [u, v] : edges) {
    adjacent[u] |= 1ULL << v;
    adjacent[v] |= 1ULL << u;
  }
  for (int s = 0; s < n; ++s) {
    int* row = ws.dist.data() + static_cast<std::size_t>(s) * n;
    row[s] = 0;
    std::uint64_t reached = 1ULL << s, frontier = reached;
    for (int d = 1; frontier != 0; ++d) {
      std::uint64_t next = 0;
      for (std::uint64_t f = frontier; f != 0; f &= f - 1) next |= adjacent[std::countr_zero(f)];
      next &= ~reached;
      for (std::uint64_t f = next; f != 0; f &= f - 1) row[std::countr_zero(f)] = d;
      reached |= next;
      frontier = next;
    }
  }
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
    for (auto w : boost::make_iterator_range(boost::adjacent_vertices(Graph::vertex_descriptor(v), graph))) {
      if (dist_s[w] == dist_s[v] - 1) count[v] += count[w];
    }
  }
  return count;
}

// The shortest s-t path that is smallest label by label: from s, always step to the neighbour one hop
// closer to t with the smallest label. A fixed rule, so `exact` is learnable, not a coin toss.
std::vector<int> smallest_shortest_path(const Graph& graph, const int* to_t, int s, int t,
                                        const std::vector<int>& label) {
  std::vector<int> path = {s};
  for (int v = s; v != t;) {
    int best = -1;
    for (auto w : boost::make_iterator_range(boost::adjacent_vertices(Graph::vertex_descriptor(v), graph))) {
      if (to_t[w] == to_t[v] - 1 && (best < 0 || label[w] < label[best])) best = static_cast<int>(w);
    }
    v = best;
    path.push_back(v);
  }
  return path;
}

// Random injective labels for n vertices out of node_tokens (partial Fisher-Yates).
std::vector<int> sample_labels(Rng& rng, int n, int node_tokens, std::vector<int>& pool) {
  pool.resize(node_tokens);
  std::iota(pool.begin(), pool.end(), 0);
  for (int i = 0; i < n; ++i) std::swap(pool[i], pool[i + rng.uniform(node_tokens - i)]);
  return {pool.begin(), pool.begin() + n};
}

// The prompt's edge list: labelled, shuffled, each edge randomly oriented.
std::vector<std::pair<int, int>> present_edges(Rng& rng, std::vector<std::pair<int, int>> edges,
                                               const std::vector<int>& label) {
  for (std::size_t i = edges.size(); i > 1; --i) std::swap(edges[i - 1], edges[rng.uniform(i)]);
  for (auto& [u, v] : edges) {
    u = label[u];
    v = label[v];
    if (rng.bernoulli(0.5)) std::swap(u, v);
  }
  return edges;
}

}  // namespace

void GraphParams::validate() const {
  constexpr std::uint64_t kMaxCount = 1'000'000'000;
  if (train_count == 0) fail("--count must be at least 1");
  if (train_count > kMaxCount) fail("--count must be at most 1e9, got {}", train_count);
  if (test_count > kMaxCount) fail("--test-count must be at most 1e9, got {}", test_count);
  if (nodes_min < 2) fail("--nodes-min must be at least 2 (a query needs two vertices), got {}", nodes_min);
  if (nodes_min > nodes_max) fail("--nodes-min ({}) must not exceed --nodes-max ({})", nodes_min, nodes_max);
  if (node_tokens < nodes_max) {
    fail("--node-tokens ({}) must be at least --nodes-max ({}): every vertex needs its own label",
         node_tokens, nodes_max);
  }
  if (node_tokens > 4096) fail("--node-tokens must be at most 4096, got {}", node_tokens);
  if (!(degree > 0)) fail("--degree must be positive, got {}", degree);
  if (!(degree <= nodes_min - 1)) {
    fail("--degree ({}) must be at most --nodes-min - 1 ({}): a graph cannot have a higher mean degree",
         degree, nodes_min - 1);
  }
}

namespace {
const GraphParams& validated(const GraphParams& params) {
  params.validate();
  return params;
}
}  // namespace

// Validates before building the vocabulary, which would otherwise allocate --node-tokens labels first.
GraphGenerator::GraphGenerator(GraphParams params)
    : params_(validated(params)), vocabulary_(graph_vocabulary(params_.node_tokens)) {}

std::string GraphGenerator::task() const {
  return params_.task == GraphTask::shortest_path ? "shortest-path" : "connectivity";
}

std::vector<SplitSpec> GraphGenerator::splits() const {
  return {{"train", params_.train_count}, {"test", params_.test_count}};
}

nlohmann::json GraphGenerator::parameters() const {
  nlohmann::json p = {{"seed", params_.seed},
                      {"train_count", params_.train_count},
                      {"test_count", params_.test_count},
                      {"nodes_min", params_.nodes_min},
                      {"nodes_max", params_.nodes_max},
                      {"node_tokens", params_.node_tokens},
                      {"degree", params_.degree},
                      {"test_partition", kTestPartition}};
  if (params_.task == GraphTask::shortest_path) p["unique_paths"] = params_.unique_paths;
  return p;
}

GraphSample GraphGenerator::sample(std::size_t split, std::uint64_t index) const {
  static thread_local Workspace ws;
  GraphSample result;
  Rng rng(params_.seed, split, index);
  // Connectivity draws its label first so that yes and no are exactly 50/50 in expectation.
  const bool want_connected = params_.task == GraphTask::connectivity && rng.bernoulli(0.5);
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
          params_.task == GraphTask::connectivity && !want_connected
              ? " (graphs are almost never disconnected)"
              : "");
    }
    const int n = rng.uniform_int(params_.nodes_min, params_.nodes_max);
    sample_edges(rng, n, params_.degree, ws.edges);
    const std::vector<std::pair<int, int>>& edges = ws.edges;
    Graph graph = build_graph(n, edges, ws);
    // Candidate pairs are (a < b) in row-major order; `eligible(a, b)` says which qualify, and the
    // k-th eligible pair is found by a second scan rather than by storing the list.
    auto kth_pair = [n](auto eligible, std::uint64_t k) {
      for (int a = 0; a < n; ++a) {
        for (int b = a + 1; b < n; ++b) {
          if (eligible(a, b) && k-- == 0) return std::pair{a, b};
        }
      }
      return std::pair{-1, -1};
    };
    int s = -1, t = -1;
    GraphSample draw;
    draw.nodes = n;

    if (params_.task == GraphTask::shortest_path) {
      all_pairs_distances(graph, edges, n, ws);
      const int* dist = ws.dist.data();
      std::vector<std::uint8_t> unique;  // unique[a * n + b]: exactly one shortest a-b path
      if (params_.unique_paths) {
        unique.assign(static_cast<std::size_t>(n) * n, 0);
        for (int a = 0; a < n; ++a) {
          std::vector<std::uint64_t> counts = shortest_path_counts(graph, n, dist + a * n, a);
          for (int b = 0; b < n; ++b) unique[a * n + b] = counts[b] == 1;
        }
      }
      // The distance is drawn uniformly over the distances that occur, then the pair uniformly among
      // the pairs at that distance.
      std::vector<std::uint64_t> pairs_at(n, 0);
      for (int a = 0; a < n; ++a) {
        for (int b = a + 1; b < n; ++b) {
          if (dist[a * n + b] > 0 && (unique.empty() || unique[a * n + b])) ++pairs_at[dist[a * n + b]];
        }
      }
      std::vector<int> distances;
      for (int d = 1; d < n; ++d) {
        if (pairs_at[d] > 0) distances.push_back(d);
      }
      if (distances.empty()) continue;  // no edge at all (or no unique path): redraw the graph
      const int d = distances[rng.uniform(distances.size())];
      std::tie(s, t) = kth_pair(
          [&](int a, int b) { return dist[a * n + b] == d && (unique.empty() || unique[a * n + b]); },
          rng.uniform(pairs_at[d]));
      if (rng.bernoulli(0.5)) std::swap(s, t);
      std::vector<int> label = sample_labels(rng, n, params_.node_tokens, ws.label_pool);
      // The answer from Boost.Graph's BFS: distances to t, then the smallest-label shortest path.
      ws.to_target.resize(n);
      boost_bfs_distances(graph, n, t, ws.to_target.data(), ws);
      assert(std::equal(ws.to_target.begin(), ws.to_target.end(), dist + t * n));
      draw.path = smallest_shortest_path(graph, ws.to_target.data(), s, t, label);
      for (int& v : draw.path) v = label[v];
      draw.question.edges = present_edges(rng, edges, label);
      draw.question.source = label[s];
      draw.question.target = label[t];
    } else {
      std::vector<int> component(n);
      // Both arcs of every edge are present, so the components of the directed CSR graph are those
      // of the undirected graph (Boost checks undirectedness only in the named-parameter overload).
      boost::connected_components(graph, component.data());
      std::uint64_t candidates = 0;
      auto eligible = [&](int a, int b) { return (component[a] == component[b]) == want_connected; };
      for (int a = 0; a < n; ++a) {
        for (int b = a + 1; b < n; ++b) candidates += eligible(a, b);
      }
      if (candidates == 0) continue;  // this graph cannot provide the drawn label: redraw it
      std::tie(s, t) = kth_pair(eligible, rng.uniform(candidates));
      if (rng.bernoulli(0.5)) std::swap(s, t);
      std::vector<int> label = sample_labels(rng, n, params_.node_tokens, ws.label_pool);
      draw.connected = want_connected;
      draw.question.edges = present_edges(rng, edges, label);
      draw.question.source = label[s];
      draw.question.target = label[t];
    }

    // Keep the draw only if its prompt lies in this split's partition.
    ws.prompt.clear();
    append_graph_prompt(draw.question, ws.prompt);
    bool in_test_partition = hash_tokens(ws.prompt.data(), ws.prompt.size(), 0) % kTestPartition == 0;
    if (in_test_partition == (split == kTest)) {
      result = std::move(draw);
      break;
    }
  }
  return result;
}

std::size_t GraphGenerator::generate(std::size_t split, std::uint64_t index, std::vector<Token>& out) const {
  GraphSample draw = sample(split, index);
  const std::size_t start = out.size();
  append_graph_prompt(draw.question, out);
  const std::size_t prompt_length = out.size() - start;
  if (params_.task == GraphTask::shortest_path) {
    append_path_answer(draw.path, out);
  } else {
    append_connectivity_answer(draw.connected, out);
  }
  return prompt_length;
}

}  // namespace lab
