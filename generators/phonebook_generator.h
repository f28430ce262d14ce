#pragma once
// A closed-book phone book (TASKS.md). Entry i is name perm(i) of the name space with a random
// 10-digit number (first digit 6-9), where perm is a seeded bijection: names are unique by
// construction. Splits: `train` is the whole book in entry order; `test` is recall queries (copies of
// distinct book entries); `control` pairs names not in the book (perm(N + j)) with random numbers,
// to measure what a model guesses rather than remembers.

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <string>
#include <type_traits>

#include "generators/generator.h"
#include "generators/name_space.h"
#include "generators/permutation.h"

namespace lab {

struct PhonebookParams {
  std::uint64_t seed = 0;
  std::uint64_t entries = 100'000;      // N, the book size
  std::uint64_t test_count = 1'000;     // recall queries drawn from the book
  std::uint64_t control_count = 1'000;  // names not in the book
  std::string first_names;  // name list files, one name per line; both or neither (empty: built-in)
  std::string last_names;

  void validate() const;  // lab::Error naming the flag
  bool operator==(const PhonebookParams&) const = default;

  // The default 1000 recall queries shrink to a smaller book (`lab gen phonebook` and presets, when
  // test_count was not given); an explicit test_count larger than the book stays an error.
  void shrink_default_test_count() { test_count = std::min(test_count, entries); }
};

// PhonebookParams' fields (core/fields.h): `lab gen phonebook` flags, preset keys (not the name files),
// the dataset's identity and manifest.
template <typename Params, typename Visit>
requires std::same_as<std::remove_const_t<Params>, PhonebookParams>
void visit_fields(Params& p, Visit&& visit) {
  visit(p.entries, Field("entries", "Book size N (1 to 1e9)").count().at_least(1).at_most(kMaxExamples));
  visit(p.test_count, Field("test_count", "Recall queries drawn from the book (at most --entries)")
                          .count()
                          .at_least(1)
                          .at_most(kMaxExamples));
  visit(p.control_count, Field("control_count", "Names not in the book, to measure guessing")
                             .count()
                             .at_least(1)
                             .at_most(kMaxExamples));
  visit(p.seed, kSeedField);
  visit(p.first_names, Field("first_names", "File of first names, one per line (default: built-in)")
                           .type_name("FILE")
                           .not_in_presets());
  visit(p.last_names, Field("last_names", "File of last names, one per line (default: built-in)")
                          .type_name("FILE")
                          .not_in_presets());
}

class PhonebookGenerator final : public Generator {
 public:
  explicit PhonebookGenerator(PhonebookParams params);  // validates; throws lab::Error

  TaskKind task() const override { return TaskKind::phonebook; }
  const Vocabulary& vocabulary() const override;
  std::vector<SplitSpec> splits() const override;
  std::vector<DisjointSplits> disjoint_splits() const override { return {{"control", "train"}}; }
  nlohmann::json parameters() const override;
  std::size_t generate(std::size_t split, std::uint64_t index, std::vector<Token>& out) const override;

  // Entry `index` of the book as text, for tests: name and 10 digits.
  std::pair<std::string, std::string> entry(std::uint64_t index) const;
  // The book entry that recall query `index` asks for.
  std::uint64_t test_entry(std::uint64_t index) const { return query_order_(index); }

 private:
  std::string number(std::uint64_t stream, std::uint64_t index) const;

  PhonebookParams params_;
  NameSpace names_;
  Permutation name_order_;   // entry -> name index, over the whole name space
  Permutation query_order_;  // recall query -> entry, over the book
};

}  // namespace lab
