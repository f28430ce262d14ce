#include "generators/graph_search.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <numeric>

#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/edge_list.hpp>
#include <boost/graph/incremental_components.hpp>
#include <boost/pending/disjoint_sets.hpp>
#include <boost/range/iterator_range.hpp>

namespace lab::graph_search {

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

void boost_bfs_distances(const Graph& graph, int n, int s, int* dist, Workspace& ws, int limit) {
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

}  // namespace lab::graph_search
