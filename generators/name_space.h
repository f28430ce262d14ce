#pragma once
// The space of full names a phone book draws from: "First Last" for every (first, last) pair.
// Built in: pronounceable names of two or three consonant-vowel syllables ("Bako", "Tirema"),
// 427,500 first names x 427,500 last names = 1.8e11 full names, no data download. Or two lists from
// files. Name k of the space is a pure function of k, so names are unique when indices are.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lab {

class NameSpace {
 public:
  static NameSpace builtin();
  // One name per line; blank lines are skipped. Throws lab::Error naming the file and line for a
  // name with characters outside letters, space, '-' and '\'', or a duplicate.
  static NameSpace from_files(const std::filesystem::path& first_names,
                              const std::filesystem::path& last_names);

  std::uint64_t size() const { return first_count_ * last_count_; }
  std::string description() const { return description_; }
  // Writes name k (< size()) into `out` (replacing its content).
  void name(std::uint64_t k, std::string& out) const;

 private:
  std::uint64_t first_count_ = 0;
  std::uint64_t last_count_ = 0;
  std::vector<std::string> firsts_;  // empty for the built-in space
  std::vector<std::string> lasts_;
  std::string description_;
};

}  // namespace lab
