#pragma once
// Searches on the small random graphs that the graph generator draws (generators/graph_generator.cpp):
// G(n, p) edges, adjacency lists as Boost.Graph sees them, hop distances by Boost's BFS and, up to 64
// vertices, by bitset levels, connected components by Boost's union-find, shortest-path counts and
// the label-smallest shortest path. Every buffer lives in a Workspace that each generator thread
// reuses from example to example.

#include <cstdint>
#include <utility>
#include <vector>

// vector_as_graph.hpp first, kept there from include sorting: Boost's algorithms find out_edges()
// and friends for std::vector graphs by ordinary lookup, so those overloads must be declared before
// the algorithms.
// clang-format off
#include <boost/graph/vector_as_graph.hpp>
// clang-format on

#include <boost/graph/properties.hpp>

#include "generators/rng.h"

namespace lab::graph_search {

// std::popcount is a library call on the x86-64 baseline; where it matters, the function is also
// compiled for CPUs with the POPCNT instruction (every x86-64 CPU since 2008), chosen at load time.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LAB_POPCNT_CLONES __attribute__((target_clones("popcnt", "default")))
#else
#define LAB_POPCNT_CLONES
#endif

// Adjacency lists as Boost.Graph sees a std::vector of vectors (boost/graph/vector_as_graph.hpp),
// each undirected edge as two arcs. The lists live in the thread's workspace and keep their capacity
// from example to example: a CSR graph allocated two arrays per example and sorted its arcs.
using Graph = std::vector<std::vector<int>>;
using Vertex = boost::graph_traits<Graph>::vertex_descriptor;

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

// The vertices b > a: the candidate partners of a in the row-major order of pairs (a < b).
inline std::uint64_t above(int a) { return a == 63 ? 0 : ~0ULL << (a + 1); }

// G(n, p) on vertices 0..n-1 with p = degree / (n - 1); edges as (u < v) pairs.
void sample_edges(Rng& rng, int n, double degree, std::vector<std::pair<int, int>>& edges);

// The graph of `edges` on vertices 0..n-1 in ws.graph.
const Graph& build_graph(int n, const std::vector<std::pair<int, int>>& edges, Workspace& ws);

// Hop distances from s by Boost's BFS into dist[0, n); -1 where unreachable. With a limit >= 0, only
// the distances up to `limit` are found (the others stay -1): the vertices `limit` hops away are
// labelled but not examined.
void boost_bfs_distances(const Graph& graph, int n, int s, int* dist, Workspace& ws, int limit = -1);

// The vertices at each hop distance from every source of a graph of up to 64 vertices, into ws.levels
// (levels[s * n + d]: the vertices d hops from s), and the number of pairs (a < b) at each distance,
// into ws.pairs_at. All sources advance together, one hop per round: the vertices within d + 1 hops of
// s are s's and its neighbours' within d. A round is one pass over the edges and one over the
// vertices, with no data-dependent branch (a BFS per source mispredicted the end of every frontier,
// and 16 Boost BFS runs per example before that were half the generator's time).
LAB_POPCNT_CLONES void distance_levels(const std::vector<std::pair<int, int>>& edges, int n, Workspace& ws);

// All-pairs hop distances into ws.dist: from ws.levels up to 64 vertices (distance_levels first),
// one Boost BFS per source beyond. The answer itself always comes from Boost's BFS (see sample()), and
// tests check both against Floyd-Warshall.
void all_pairs_distances(const Graph& graph, int n, Workspace& ws);

// Connected components into ws.component (vertex -> a representative of its component) by
// Boost.Graph's incremental connected components: union-find over the edge list, on rank and parent
// arrays reused from example to example. No graph structure is built (connected_components needs the
// CSR graph and allocates a color map and a DFS stack per call: together a third of an example).
void boost_components(const std::vector<std::pair<int, int>>& edges, int n, Workspace& ws);

// Connectivity queries of a graph of up to 64 vertices: partners[a], the vertices b > a in a's
// component (connected) or outside it; returns the number of such pairs (a < b).
LAB_POPCNT_CLONES std::uint64_t component_partners(const std::vector<int>& component, int n, bool connected,
                                                   std::uint64_t* partners);

// The k-th pair (a < b) in row-major order among the pairs with b in partners[a].
std::pair<int, int> kth_pair_of(const std::uint64_t* partners, int n, std::uint64_t k);

// Number of shortest s-t paths for every t, from s's BFS distances (layer by layer).
std::vector<std::uint64_t> shortest_path_counts(const Graph& graph, int n, const int* dist_s, int s);

// The shortest s-t path that is smallest label by label: from s, always step to the neighbour one hop
// closer to t with the smallest label. A fixed rule, so `exact` is learnable, not a coin toss.
void smallest_shortest_path(const Graph& graph, const int* to_t, int s, int t, const std::vector<int>& label,
                            std::vector<int>& path);

}  // namespace lab::graph_search
