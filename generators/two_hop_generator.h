#pragma once
// The two-hop generator (TASKS.md, "two-hop"): per example, the |V| labels are split at random into
// |V|/2 ends and |V|/2 middles, each end is joined to `degree` distinct random middles, and the query
// is a pair of ends whose neighbour sets share exactly one middle (answer: it) or none (answer: <no>),
// the case drawn first with probability 1/2. Graphs that cannot provide the drawn case are redrawn.
// Held-out prompts are disjoint from training ones by a hash partition of the prompt, as for the other
// graph tasks.

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "generators/generator.h"
#include "tasks/two_hop_task.h"

namespace lab {

struct TwoHopParams {
  std::uint64_t seed = 0;
  std::uint64_t train_count = 1'000'000;
  std::uint64_t test_count = 1'000;
  int vertices = 16;  // |V|: the label vocabulary too; even, so ends and middles are halves
  int degree = 0;     // middles per end; 0 = |V| / 8 (at least 1)

  void validate() const;  // lab::Error naming the flag
  bool operator==(const TwoHopParams&) const = default;
  int resolved_degree() const { return degree > 0 ? degree : std::max(1, vertices / 8); }
  GraphFormat format() const { return {vertices, kGraphPromptFormat}; }
};

// One drawn problem, labels applied.
// TwoHopParams' fields (core/fields.h): `lab gen two-hop` flags, preset keys, the dataset's identity
// (with the degree resolved) and manifest.
template <typename Params, typename Visit>
requires std::same_as<std::remove_const_t<Params>, TwoHopParams>
void visit_fields(Params& p, Visit&& visit) {
  visit(p.train_count, kTrainCountField);
  visit(p.test_count, kHeldOutCountField);
  visit(p.seed, kSeedField);
  // The labels are the graph tasks' label tokens; past a few hundred vertices the prompt alone
  // (|V|/2 x degree edges of 3 tokens) is longer than any model here reads.
  visit(p.vertices, Field("vertices",
                          "|V|: vertex labels, half ends and half middles per example (even, 4 to 1024); the "
                          "width knob")
                        .at_least(4)
                        .at_most(1024));
  visit(p.degree, Field("degree", "Middles per end (at most --vertices / 4); 0 = --vertices / 8")
                      .positive_or_zero("--vertices / 8"));
}

struct TwoHopSample {
  GraphQuestion question;     // every end-middle edge, shuffled and randomly oriented; s and t are ends
  std::optional<int> middle;  // the shared middle, or none
};

class TwoHopGenerator final : public Generator {
 public:
  static constexpr std::uint64_t kTestPartition = 16;  // 1 in 16 prompts may be held out

  explicit TwoHopGenerator(TwoHopParams params);  // validates

  TaskKind task() const override { return TaskKind::two_hop; }
  const Vocabulary& vocabulary() const override { return vocabulary_; }
  std::vector<SplitSpec> splits() const override;
  std::vector<DisjointSplits> disjoint_splits() const override { return {{"test", "train"}}; }
  nlohmann::json parameters() const override;
  std::size_t generate(std::size_t split, std::uint64_t index, std::vector<Token>& out) const override;

  // The problem behind example `index` of `split`, for tests and inspection.
  TwoHopSample sample(std::size_t split, std::uint64_t index) const;

 private:
  // Draws example `index` of `split` into `sample` and its serialized prompt into `prompt`.
  void draw(std::size_t split, std::uint64_t index, TwoHopSample& sample, std::vector<Token>& prompt) const;

  TwoHopParams params_;
  Vocabulary vocabulary_;
};

}  // namespace lab
