#pragma once
// What every task's generator provides to the dataset writer: its splits, its vocabulary, its
// parameters for the manifest, and example i of a split as a pure function of (seed, split, i).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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

// A 64-bit hash of a token sequence (seeded), used for split partitions and overlap checks.
std::uint64_t hash_tokens(const Token* tokens, std::size_t count, std::uint64_t seed);

}  // namespace lab
