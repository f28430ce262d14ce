#include "generators/name_space.h"

#include <fstream>
#include <unordered_map>

#include "core/error.h"
#include "tasks/phonebook_task.h"

namespace lab {
namespace {

constexpr std::string_view kConsonants = "bdfghklmnprstvz";                // 15
constexpr std::string_view kVowels = "aeiou";                              // 5
constexpr std::uint64_t kSyllables = kConsonants.size() * kVowels.size();  // 75
constexpr std::uint64_t kTwoSyllables = kSyllables * kSyllables;
constexpr std::uint64_t kBuiltinNames = kTwoSyllables + kTwoSyllables * kSyllables;  // 427,500

// Name i of the built-in list: two syllables for i < 75^2, three after. Consonant-vowel syllables
// split a name in exactly one way, so distinct indices give distinct names.
void append_builtin_name(std::uint64_t i, std::string& out) {
  int syllables = i < kTwoSyllables ? 2 : 3;
  if (syllables == 3) i -= kTwoSyllables;
  std::size_t start = out.size();
  for (int s = 0; s < syllables; ++s) {
    std::uint64_t syllable = i % kSyllables;
    i /= kSyllables;
    out += kConsonants[syllable / kVowels.size()];
    out += kVowels[syllable % kVowels.size()];
  }
  out[start] = static_cast<char>(out[start] - 'a' + 'A');
}

std::vector<std::string> read_names(const std::filesystem::path& path, const char* flag) {
  std::ifstream in(path);
  if (!in) fail("{} {}: cannot open the file", flag, path.string());
  std::vector<std::string> names;
  std::unordered_map<std::string, int> first_line;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    for (char c : line) {
      if (!is_name_character(c) || c == ' ') {
        fail("{} {}:{}: name '{}' has the character '{}'; names may hold letters, '-' and '\\'' only", flag,
             path.string(), number, line, c);
      }
    }
    auto [it, inserted] = first_line.emplace(line, number);
    if (!inserted) {
      fail("{} {}:{}: name '{}' already appears on line {}; names must be distinct", flag, path.string(),
           number, line, it->second);
    }
    names.push_back(line);
  }
  if (names.empty()) fail("{} {}: the file holds no names", flag, path.string());
  return names;
}

}  // namespace

NameSpace NameSpace::builtin() {
  NameSpace space;
  space.first_count_ = kBuiltinNames;
  space.last_count_ = kBuiltinNames;
  space.description_ = "builtin";
  return space;
}

NameSpace NameSpace::from_files(const std::filesystem::path& first_names,
                                const std::filesystem::path& last_names) {
  NameSpace space;
  space.firsts_ = read_names(first_names, "--first-names");
  space.lasts_ = read_names(last_names, "--last-names");
  space.first_count_ = space.firsts_.size();
  space.last_count_ = space.lasts_.size();
  space.description_ = "files: " + first_names.filename().string() + " x " + last_names.filename().string();
  return space;
}

void NameSpace::name(std::uint64_t k, std::string& out) const {
  out.clear();
  std::uint64_t first = k / last_count_;
  std::uint64_t last = k % last_count_;
  if (firsts_.empty()) {
    append_builtin_name(first, out);
    out += ' ';
    append_builtin_name(last, out);
  } else {
    out += firsts_[first];
    out += ' ';
    out += lasts_[last];
  }
}

}  // namespace lab
