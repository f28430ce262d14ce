#pragma once
// Shortest-path and connectivity problems on small Erdos-Renyi graphs (TASKS.md), ground truth by
// Boost.Graph. Train and test are disjoint by construction: a prompt belongs to the test partition
// iff hash(prompt) % kTestPartition == 0, and each split redraws candidates of the other partition.

#include <cstdint>

#include "generators/generator.h"
#include "tasks/graph_task.h"

namespace lab {

struct GraphParams {
  TaskKind task = TaskKind::shortest_path;  // a graph task
  std::uint64_t seed = 0;
  std::uint64_t train_count = 1'000'000;
  std::uint64_t test_count = 1'000;
  int nodes_min = 8;  // vertices per graph, uniform in [nodes_min, nodes_max]
  int nodes_max = 16;
  int node_tokens = 32;                    // label vocabulary; vertices get distinct random labels
  double degree = 3.0;                     // mean degree of G(n, p = degree / (n - 1)); see graph_defaults
  bool unique_paths = false;               // shortest path: only queries with exactly one shortest path
  int prompt_format = kGraphPromptFormat;  // 2: edges as <e> u v; 1: the old undelimited u v

  void validate() const;  // throws lab::Error naming the flag
  GraphFormat format() const { return {node_tokens, prompt_format}; }
};

// The defaults of graph task `task`, for `lab gen` and presets: connectivity's graphs are sparser
// (mean degree 1.5, not 3) so that many have several components (TASKS.md).
GraphParams graph_defaults(TaskKind task);

// One drawn problem, before serialization (labels already applied).
struct GraphSample {
  GraphQuestion question;
  std::vector<int> path;   // shortest path: s .. t, the lexicographically smallest by label
  bool connected = false;  // connectivity: the answer
  int nodes = 0;
};

// The format of a graph dataset from its manifest: node_tokens, and prompt_format (1 when absent:
// datasets written before format 2 did not record it). lab::Error if node_tokens is missing.
GraphFormat graph_format_of(const nlohmann::json& manifest);

class GraphGenerator final : public Generator {
 public:
  static constexpr std::uint64_t kTestPartition = 16;

  explicit GraphGenerator(GraphParams params);  // validates

  TaskKind task() const override { return params_.task; }
  const Vocabulary& vocabulary() const override { return vocabulary_; }
  std::vector<SplitSpec> splits() const override;
  std::vector<DisjointSplits> disjoint_splits() const override { return {{"test", "train"}}; }
  nlohmann::json parameters() const override;
  std::size_t generate(std::size_t split, std::uint64_t index, std::vector<Token>& out) const override;

  // The problem behind example `index` of `split`, for tests and inspection.
  GraphSample sample(std::size_t split, std::uint64_t index) const;

 private:
  // Draws example `index` of `split` into `sample`, and its serialized prompt into `prompt` (the
  // partition test needs it anyway, so generate() does not serialize it twice).
  void draw(std::size_t split, std::uint64_t index, GraphSample& sample, std::vector<Token>& prompt) const;

  GraphParams params_;
  Vocabulary vocabulary_;
};

}  // namespace lab
