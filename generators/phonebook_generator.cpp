#include "generators/phonebook_generator.h"

#include <fmt/format.h>

#include "core/error.h"
#include "generators/rng.h"
#include "tasks/phonebook_task.h"

namespace lab {
namespace {

// Random streams: book numbers and control numbers are independent of each other and of the names.
constexpr std::uint64_t kBookNumbers = 0;
constexpr std::uint64_t kControlNumbers = 2;
constexpr std::uint64_t kNameKey = 0x6E616D6573ULL;   // "names"
constexpr std::uint64_t kQueryKey = 0x7175657279ULL;  // "query"

constexpr std::uint64_t kMaxEntries = 1'000'000'000;

NameSpace make_names(const PhonebookParams& p) {
  if (p.first_names.has_value() != p.last_names.has_value()) {
    fail("--first-names and --last-names go together: give both files or neither");
  }
  return p.first_names ? NameSpace::from_files(*p.first_names, *p.last_names) : NameSpace::builtin();
}

const PhonebookParams& validated(const PhonebookParams& p) {
  if (p.entries == 0) fail("--entries must be at least 1");
  if (p.entries > kMaxEntries) fail("--entries must be at most {} (1e9), got {}", kMaxEntries, p.entries);
  if (p.test_count > p.entries) {
    fail("--test-count ({}) must not exceed --entries ({}): recall queries are distinct book entries",
         p.test_count, p.entries);
  }
  if (p.control_count > kMaxEntries) fail("--control-count must be at most 1e9, got {}", p.control_count);
  return p;
}

}  // namespace

PhonebookGenerator::PhonebookGenerator(PhonebookParams params)
    : params_(validated(params)),
      names_(make_names(params_)),
      name_order_(std::max<std::uint64_t>(names_.size(), 1), mix64(params_.seed ^ kNameKey)),
      query_order_(params_.entries, mix64(params_.seed ^ kQueryKey)) {
  if (params_.entries + params_.control_count > names_.size()) {
    fail(
        "the name space ({}) holds {} names, fewer than --entries ({}) + --control-count ({}); use longer "
        "name lists or a smaller book",
        names_.description(), names_.size(), params_.entries, params_.control_count);
  }
}

const Vocabulary& PhonebookGenerator::vocabulary() const { return phonebook_vocabulary(); }

std::vector<SplitSpec> PhonebookGenerator::splits() const {
  return {{"train", params_.entries}, {"test", params_.test_count}, {"control", params_.control_count}};
}

nlohmann::json PhonebookGenerator::parameters() const {
  nlohmann::json p = {{"seed", params_.seed},
                      {"entries", params_.entries},
                      {"test_count", params_.test_count},
                      {"control_count", params_.control_count},
                      {"name_space", names_.description()},
                      {"name_space_size", names_.size()}};
  return p;
}

std::string PhonebookGenerator::number(std::uint64_t stream, std::uint64_t index) const {
  Rng rng(params_.seed, stream, index);
  return fmt::format("{}", 6'000'000'000ULL + rng.uniform(4'000'000'000ULL));  // 6000000000 .. 9999999999
}

std::pair<std::string, std::string> PhonebookGenerator::entry(std::uint64_t index) const {
  std::string name;
  names_.name(name_order_(index), name);
  return {name, number(kBookNumbers, index)};
}

std::size_t PhonebookGenerator::generate(std::size_t split, std::uint64_t index,
                                         std::vector<Token>& out) const {
  thread_local std::string name;
  std::string digits;
  if (split == 2) {  // control: a name past the book's end of the permutation
    names_.name(name_order_(params_.entries + index), name);
    digits = number(kControlNumbers, index);
  } else {
    std::uint64_t entry = split == 1 ? query_order_(index) : index;
    names_.name(name_order_(entry), name);
    digits = number(kBookNumbers, entry);
  }
  const std::size_t start = out.size();
  append_phonebook_prompt(name, out);
  const std::size_t prompt_length = out.size() - start;
  append_phone_number(digits, out);
  return prompt_length;
}

}  // namespace lab
