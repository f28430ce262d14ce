#pragma once
// Independent references for the graph tests, written from scratch (no Boost, no generator code):
// a graph read from a prompt, Floyd-Warshall distances, every shortest path by depth-first search,
// and union-find components.

#include <algorithm>
#include <numeric>
#include <vector>

#include "tasks/graph_task.h"

namespace lab::test {

constexpr int kUnreachable = 1 << 20;

// The graph of a prompt on labels 0..labels-1 (isolated vertices are not in the prompt).
struct LabelGraph {
  int labels = 0;
  std::vector<std::vector<bool>> adjacent;  // [labels][labels]

  LabelGraph(const GraphQuestion& question, int label_count)
      : labels(label_count), adjacent(label_count, std::vector<bool>(label_count, false)) {
    for (auto [u, v] : question.edges) adjacent[u][v] = adjacent[v][u] = true;
  }
};

// All-pairs hop distances: dist[a][b], kUnreachable where no path exists.
inline std::vector<std::vector<int>> floyd_warshall(const LabelGraph& g) {
  std::vector<std::vector<int>> dist(g.labels, std::vector<int>(g.labels, kUnreachable));
  for (int a = 0; a < g.labels; ++a) {
    dist[a][a] = 0;
    for (int b = 0; b < g.labels; ++b) {
      if (g.adjacent[a][b]) dist[a][b] = 1;
    }
  }
  for (int k = 0; k < g.labels; ++k) {
    for (int a = 0; a < g.labels; ++a) {
      for (int b = 0; b < g.labels; ++b) dist[a][b] = std::min(dist[a][b], dist[a][k] + dist[k][b]);
    }
  }
  return dist;
}

// Every shortest s-t path (at most `limit` of them), found by walking only edges that get one hop
// closer to t.
inline void all_shortest_paths(const LabelGraph& g, const std::vector<std::vector<int>>& dist, int t,
                               std::vector<int>& current, std::vector<std::vector<int>>& out,
                               std::size_t limit) {
  int v = current.back();
  if (v == t) {
    out.push_back(current);
    return;
  }
  for (int w = 0; w < g.labels && out.size() < limit; ++w) {
    if (g.adjacent[v][w] && dist[w][t] == dist[v][t] - 1) {
      current.push_back(w);
      all_shortest_paths(g, dist, t, current, out, limit);
      current.pop_back();
    }
  }
}

inline std::vector<std::vector<int>> all_shortest_paths(const LabelGraph& g,
                                                        const std::vector<std::vector<int>>& dist, int s,
                                                        int t, std::size_t limit = 100'000) {
  std::vector<std::vector<int>> out;
  std::vector<int> current = {s};
  if (dist[s][t] < kUnreachable) all_shortest_paths(g, dist, t, current, out, limit);
  return out;
}

struct UnionFind {
  std::vector<int> parent;
  explicit UnionFind(int n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  int find(int x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  void unite(int a, int b) { parent[find(a)] = find(b); }
};

}  // namespace lab::test
