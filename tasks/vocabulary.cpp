#include "tasks/vocabulary.h"

#include <cassert>

namespace lab {

Vocabulary::Vocabulary(std::vector<std::string> texts, std::string separator)
    : texts_(std::move(texts)), separator_(std::move(separator)) {
  assert(texts_.size() >= special::count && texts_[special::pad] == "<pad>" &&
         texts_[special::bos] == "<bos>" && texts_[special::eos] == "<eos>" &&
         texts_[special::sep] == "<sep>");
  assert(texts_.size() <= 65536);
  for (std::size_t i = 0; i < texts_.size(); ++i) {
    bool inserted = ids_.emplace(texts_[i], static_cast<Token>(i)).second;
    assert(inserted && "vocabulary texts must be distinct");
    (void)inserted;
  }
}

std::optional<Token> Vocabulary::find(std::string_view text) const {
  auto it = ids_.find(std::string(text));
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

Token Vocabulary::id(std::string_view text) const {
  std::optional<Token> token = find(text);
  assert(token.has_value());
  return *token;
}

std::string Vocabulary::render(std::span<const Token> tokens) const {
  std::string out;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) out += separator_;
    out += tokens[i] < texts_.size() ? texts_[tokens[i]] : "<?>";
  }
  return out;
}

}  // namespace lab
