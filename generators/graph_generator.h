#pragma once
// Shortest-path and connectivity problems on small Erdos-Renyi graphs (TASKS.md), ground truth by
// Boost.Graph. Train and test are disjoint by construction: a prompt belongs to the test partition
// iff hash(prompt) % kTestPartition == 0, and each split redraws candidates of the other partition.

#include <concepts>
#include <cstdint>
#include <type_traits>

#include "generators/generator.h"
#include "tasks/graph_task.h"

namespace lab {

// The largest label vocabulary of a graph dataset.
inline constexpr int kMaxNodeTokens = 4096;

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

  void validate() const;  // lab::Error naming the flag
  bool operator==(const GraphParams&) const = default;
  GraphFormat format() const { return {node_tokens, prompt_format}; }
};

// GraphParams' fields (core/fields.h): `lab gen shortest-path|connectivity` flags, preset keys, the
// dataset's identity and manifest. The task is not a field: the command or the preset's task = sets it.
template <typename Params, typename Visit>
requires std::same_as<std::remove_const_t<Params>, GraphParams>
void visit_fields(Params& p, Visit&& visit) {
  visit(p.train_count, kTrainCountField);
  visit(p.test_count, kHeldOutCountField);
  visit(p.seed, kSeedField);
  visit(p.nodes_min, Field("nodes_min", "Fewest vertices per graph (a query needs two)").at_least(2));
  visit(p.nodes_max, Field("nodes_max", "Most vertices per graph").at_least(2));
  visit(p.node_tokens,
        Field("node_tokens", "Vertex label vocabulary (>= --nodes-max)").at_least(2).at_most(kMaxNodeTokens));
  visit(p.degree, Field("degree", "Mean vertex degree of the Erdos-Renyi graphs").positive());
  visit(p.prompt_format,
        Field("prompt_format",
              "Prompt format: 2 writes each edge as `<e> u v`; 1 the old undelimited `u v u v ...` (only to "
              "reproduce format-1 results: small models cannot tell its edges apart)")
            .at_least(1)
            .at_most(2));
  if (p.task == TaskKind::shortest_path) {
    visit(p.unique_paths, Field("unique_paths",
                                "Only emit queries with exactly one shortest path (then "
                                "`valid` and `exact` agree)"));
  }
}

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
