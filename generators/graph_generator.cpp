#include "generators/graph_generator.h"

#include <algorithm>
#include <numeric>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/connected_components.hpp>

#include "core/error.h"
#include "generators/rng.h"

namespace lab {
namespace {

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS>;

constexpr std::size_t kTest = 1;  // split numbers follow splits(): train, test

// G(n, p) on vertices 0..n-1 with p = degree / (n - 1); edges as (u < v) pairs.
std::vector<std::pair<int, int>> sample_edges(Rng& rng, int n, double degree) {
  double p = std::min(1.0, degree / (n - 1));
  std::vector<std::pair<int, int>> edges;
  for (int u = 0; u < n; ++u) {
    for (int v = u + 1; v < n; ++v) {
      if (rng.bernoulli(p)) edges.emplace_back(u, v);
    }
  }
  return edges;
}

Graph build_graph(int n, const std::vector<std::pair<int, int>>& edges) {
  Graph graph(n);
  for (auto [u, v] : edges) boost::add_edge(u, v, graph);
  return graph;
}

// All-pairs hop distances by one Boost BFS per source; -1 where unreachable. dist[s * n + t].
std::vector<int> all_pairs_distances(const Graph& graph, int n) {
  std::vector<int> dist(static_cast<std::size_t>(n) * n, -1);
  std::vector<boost::default_color_type> colors(n);
  auto index = boost::get(boost::vertex_index, graph);
  for (int s = 0; s < n; ++s) {
    int* row = dist.data() + static_cast<std::size_t>(s) * n;
    row[s] = 0;
    boost::breadth_first_search(
        graph, s,
        boost::visitor(boost::make_bfs_visitor(boost::record_distances(
                           boost::make_iterator_property_map(row, index), boost::on_tree_edge())))
            .color_map(boost::make_iterator_property_map(colors.begin(), index)));
  }
  return dist;
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
    for (auto w : boost::make_iterator_range(boost::adjacent_vertices(v, graph))) {
      if (dist_s[w] == dist_s[v] - 1) count[v] += count[w];
    }
  }
  return count;
}

// The shortest s-t path that is smallest label by label: from s, always step to the neighbour one hop
// closer to t with the smallest label. A fixed rule, so `exact` is learnable, not a coin toss.
std::vector<int> smallest_shortest_path(const Graph& graph, int n, const std::vector<int>& dist, int s, int t,
                                        const std::vector<int>& label) {
  const int* to_t = dist.data() + static_cast<std::size_t>(t) * n;
  std::vector<int> path = {s};
  for (int v = s; v != t;) {
    int best = -1;
    for (auto w : boost::make_iterator_range(boost::adjacent_vertices(v, graph))) {
      if (to_t[w] == to_t[v] - 1 && (best < 0 || label[w] < label[best])) best = static_cast<int>(w);
    }
    v = best;
    path.push_back(v);
  }
  return path;
}

// Random injective labels for n vertices out of node_tokens (partial Fisher-Yates).
std::vector<int> sample_labels(Rng& rng, int n, int node_tokens) {
  std::vector<int> pool(node_tokens);
  std::iota(pool.begin(), pool.end(), 0);
  for (int i = 0; i < n; ++i) std::swap(pool[i], pool[i + rng.uniform(node_tokens - i)]);
  pool.resize(n);
  return pool;
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

GraphGenerator::GraphGenerator(GraphParams params)
    : params_(params), vocabulary_(graph_vocabulary(params.node_tokens)) {
  params_.validate();
}

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
  std::vector<Token> scratch;
  GraphSample result;
  Rng rng(params_.seed, split, index);
  // Connectivity draws its label first so that yes and no are exactly 50/50 in expectation.
  const bool want_connected = params_.task == GraphTask::connectivity && rng.bernoulli(0.5);
  for (;;) {
    const int n = rng.uniform_int(params_.nodes_min, params_.nodes_max);
    std::vector<std::pair<int, int>> edges = sample_edges(rng, n, params_.degree);
    Graph graph = build_graph(n, edges);
    int s = -1, t = -1;
    GraphSample draw;
    draw.nodes = n;

    if (params_.task == GraphTask::shortest_path) {
      std::vector<int> dist = all_pairs_distances(graph, n);
      // Candidate pairs (s < t) grouped by distance; the distance is drawn over the distances that
      // occur, then the pair uniformly among pairs at that distance.
      std::vector<std::vector<std::pair<int, int>>> by_distance(n);
      for (int a = 0; a < n; ++a) {
        const int* row = dist.data() + static_cast<std::size_t>(a) * n;
        std::vector<std::uint64_t> counts;
        if (params_.unique_paths) counts = shortest_path_counts(graph, n, row, a);
        for (int b = a + 1; b < n; ++b) {
          if (row[b] > 0 && (!params_.unique_paths || counts[b] == 1)) by_distance[row[b]].emplace_back(a, b);
        }
      }
      std::vector<int> distances;
      for (int d = 1; d < n; ++d) {
        if (!by_distance[d].empty()) distances.push_back(d);
      }
      if (distances.empty()) continue;  // no edge at all (or no unique path): redraw the graph
      const auto& pairs = by_distance[distances[rng.uniform(distances.size())]];
      std::tie(s, t) = pairs[rng.uniform(pairs.size())];
      if (rng.bernoulli(0.5)) std::swap(s, t);
      std::vector<int> label = sample_labels(rng, n, params_.node_tokens);
      draw.path = smallest_shortest_path(graph, n, dist, s, t, label);
      for (int& v : draw.path) v = label[v];
      draw.question.edges = present_edges(rng, std::move(edges), label);
      draw.question.source = label[s];
      draw.question.target = label[t];
    } else {
      std::vector<int> component(n);
      boost::connected_components(graph, component.data());
      std::vector<std::pair<int, int>> pairs;
      for (int a = 0; a < n; ++a) {
        for (int b = a + 1; b < n; ++b) {
          if ((component[a] == component[b]) == want_connected) pairs.emplace_back(a, b);
        }
      }
      if (pairs.empty()) continue;  // this graph cannot provide the drawn label: redraw it
      std::tie(s, t) = pairs[rng.uniform(pairs.size())];
      if (rng.bernoulli(0.5)) std::swap(s, t);
      std::vector<int> label = sample_labels(rng, n, params_.node_tokens);
      draw.connected = want_connected;
      draw.question.edges = present_edges(rng, std::move(edges), label);
      draw.question.source = label[s];
      draw.question.target = label[t];
    }

    // Keep the draw only if its prompt lies in this split's partition.
    scratch.clear();
    append_graph_prompt(draw.question, scratch);
    bool in_test_partition = hash_tokens(scratch.data(), scratch.size(), 0) % kTestPartition == 0;
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
