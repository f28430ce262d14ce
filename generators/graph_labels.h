#pragma once
// How a drawn graph becomes a prompt, shared by the graph generators: random labels for its vertices
// and its edges in random order and orientation, so that neither label order nor edge order carries
// information about the answer; and which split a prompt may go to.

#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "generators/generator.h"
#include "generators/rng.h"

namespace lab {

// Random injective labels for n vertices out of node_tokens (partial Fisher-Yates): label[0, n).
inline void sample_labels(Rng& rng, int n, int node_tokens, std::vector<int>& label) {
  label.resize(node_tokens);
  std::iota(label.begin(), label.end(), 0);
  for (int i = 0; i < n; ++i) std::swap(label[i], label[i + rng.uniform(node_tokens - i)]);
  label.resize(n);
}

// The prompt's edge list: labelled, shuffled, each edge randomly oriented.
inline void present_edges(Rng& rng, const std::vector<std::pair<int, int>>& graph_edges,
                          const std::vector<int>& label, std::vector<std::pair<int, int>>& edges) {
  edges.assign(graph_edges.begin(), graph_edges.end());
  for (std::size_t i = edges.size(); i > 1; --i) std::swap(edges[i - 1], edges[rng.uniform(i)]);
  // The orientation is a fair coin, bernoulli(0.5), applied without a branch: a branch on a coin is
  // mispredicted half the time.
  const std::uint64_t half = Rng::bernoulli_threshold(0.5);
  for (auto& [u, v] : edges) {
    const int a = label[u], b = label[v];
    const int flip = -static_cast<int>(rng.bernoulli_below(half));  // all ones or zero
    u = a ^ ((a ^ b) & flip);
    v = b ^ ((a ^ b) & flip);
  }
}

// Held-out prompts are those whose hash falls into one of `partition` buckets: a draw is kept for the
// test split only if its prompt is in that bucket and for training only if it is not, so the two
// share no prompt by construction (the manifest's disjointness check confirms it).
inline bool prompt_fits_split(const std::vector<Token>& prompt, bool test_split, std::uint64_t partition) {
  return (hash_tokens(prompt.data(), prompt.size(), 0) % partition == 0) == test_split;
}

}  // namespace lab
