#pragma once
// A task's vocabulary: token id <-> text. Every task starts with the same four specials, so padding and
// the prompt/answer markers mean the same thing across datasets. No RNG, no files (TASKS.md).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lab {

using Token = std::uint16_t;  // tokens are stored on disk as uint16 little-endian

namespace special {
constexpr Token pad = 0;
constexpr Token bos = 1;
constexpr Token eos = 2;
constexpr Token sep = 3;  // end of the prompt
constexpr int count = 4;
}  // namespace special

class Vocabulary {
 public:
  Vocabulary() = default;
  // `texts` must begin with <pad> <bos> <eos> <sep>. `separator` joins tokens when rendered as text:
  // " " for word-like tokens (graph labels), "" for characters (phone book).
  Vocabulary(std::vector<std::string> texts, std::string separator);

  std::size_t size() const { return texts_.size(); }
  const std::string& text(Token token) const { return texts_.at(token); }
  std::optional<Token> find(std::string_view text) const;
  Token id(std::string_view text) const;  // the text must be in the vocabulary (a bug otherwise)
  const std::vector<std::string>& texts() const { return texts_; }
  const std::string& separator() const { return separator_; }

  // Tokens as text, specials included: "<bos> 3 7 <q> 3 7 <sep>" or "<bos>Ada Bo:<sep>".
  std::string render(std::span<const Token> tokens) const;

 private:
  std::vector<std::string> texts_;
  std::string separator_;
  std::unordered_map<std::string, Token> ids_;
};

// One example is the token sequence prompt ++ answer; the answer ends with <eos>.
struct Example {
  std::vector<Token> tokens;
  std::size_t prompt_length = 0;

  std::span<const Token> prompt() const { return {tokens.data(), prompt_length}; }
  std::span<const Token> answer() const {
    return {tokens.data() + prompt_length, tokens.size() - prompt_length};
  }
};

}  // namespace lab
