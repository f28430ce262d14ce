#pragma once
// What every task's generator provides to the dataset writer: its splits, its vocabulary, its
// parameters for the manifest, and example i of a split as a pure function of (seed, split, i).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/field_json.h"
#include "core/fields.h"
#include "tasks/task_kind.h"
#include "tasks/vocabulary.h"

namespace lab {

struct SplitSpec {
  std::string name;     // "train", "test", "control"
  std::uint64_t count;  // examples
};

// "Split `split` holds no prompt that split `from` holds": checked on the written files.
struct DisjointSplits {
  std::string split;
  std::string from;
};

class Generator {
 public:
  virtual ~Generator() = default;

  virtual TaskKind task() const = 0;
  virtual const Vocabulary& vocabulary() const = 0;
  virtual std::vector<SplitSpec> splits() const = 0;
  virtual std::vector<DisjointSplits> disjoint_splits() const = 0;
  virtual nlohmann::json parameters() const = 0;  // every parameter, seed included

  // Appends example `index` of split number `split` (an index into splits()) to `out` and returns
  // its prompt length. Thread-safe: const and free of shared mutable state.
  virtual std::size_t generate(std::size_t split, std::uint64_t index, std::vector<Token>& out) const = 0;
};

// Bumped whenever a generator's output for the same parameters changes; recorded in the manifest.
constexpr int kGeneratorVersion = 2;  // 2: graph prompts in format 2 by default

// --- the generators' parameters as field lists (core/fields.h) -------------------------------------
//
// Each generator's parameter struct lists its fields in a visit_fields() next to it: the flags of
// `lab gen TASK`, the keys of a preset's [[tasks]] entry, the parameters that identify a preset's
// dataset (DataSpec::parameters) and those in the manifest all come from that list.

// The fields the generators share.
inline constexpr std::uint64_t kMaxExamples = 1'000'000'000;  // per split
inline const Field kSeedField = Field("seed", "Seed: the same seed gives byte-identical files");
inline const Field kTrainCountField =
    Field("count", "Training examples").count().at_least(1).at_most(kMaxExamples);
inline const Field kHeldOutCountField = Field("test_count", "Held-out test examples (disjoint from training)")
                                            .count()
                                            .at_least(1)
                                            .at_most(kMaxExamples);

// The fields that identify a dataset: all but those a preset cannot set (the phone book's name files,
// which the manifest describes by their contents).
inline bool identifies_data(const Field& field) { return field.in_presets(); }

// A generator's parameters for its manifest: the fields that identify the data, the training count
// under the name `train_count` (its name in manifests).
template <typename Params>
nlohmann::json manifest_parameters(const Params& params) {
  nlohmann::json p = fields_to_json(params, identifies_data);
  if (auto count = p.find("count"); count != p.end()) {
    p["train_count"] = *count;
    p.erase("count");
  }
  return p;
}

// A 64-bit hash of a token sequence (seeded), used for split partitions and overlap checks.
std::uint64_t hash_tokens(const Token* tokens, std::size_t count, std::uint64_t seed);

}  // namespace lab
