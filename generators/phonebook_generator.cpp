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

NameSpace make_names(const PhonebookParams& p) {
  return p.first_names.empty() ? NameSpace::builtin() : NameSpace::from_files(p.first_names, p.last_names);
}

const PhonebookParams& validated(const PhonebookParams& p) {
  p.validate();
  return p;
}

}  // namespace

void PhonebookParams::validate() const {
  check_field_ranges(*this);
  if (test_count > entries) {
    fail("--test-count ({}) must not exceed --entries ({}): recall queries are distinct book entries",
         test_count, entries);
  }
  if (first_names.empty() != last_names.empty()) {
    fail("--first-names and --last-names go together: give both files or neither");
  }
}

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
  nlohmann::json p = manifest_parameters(params_);
  p.update({{"name_space", names_.description()}, {"name_space_size", names_.size()}});
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
