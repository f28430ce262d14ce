#include "tasks/phonebook_task.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <string>

namespace lab {
namespace {

constexpr std::string_view kCharacters = " :-'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

Vocabulary make_vocabulary() {
  std::vector<std::string> texts = {"<pad>", "<bos>", "<eos>", "<sep>"};
  for (char c : kCharacters) texts.emplace_back(1, c);
  return Vocabulary(std::move(texts), "");
}

// char -> token, 0 (<pad>) for characters outside the vocabulary.
constexpr std::array<Token, 256> make_char_tokens() {
  std::array<Token, 256> table{};
  for (std::size_t i = 0; i < kCharacters.size(); ++i) {
    table[static_cast<unsigned char>(kCharacters[i])] = static_cast<Token>(special::count + i);
  }
  return table;
}
constexpr auto kCharTokens = make_char_tokens();

}  // namespace

const Vocabulary& phonebook_vocabulary() {
  static const Vocabulary vocabulary = make_vocabulary();
  return vocabulary;
}

bool is_name_character(char c) {
  return c == ' ' || c == '-' || c == '\'' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

void append_phonebook_prompt(std::string_view name, std::vector<Token>& out) {
  out.push_back(special::bos);
  for (char c : name) {
    assert(is_name_character(c));
    out.push_back(kCharTokens[static_cast<unsigned char>(c)]);
  }
  out.push_back(kCharTokens[':']);
  out.push_back(special::sep);
}

void append_phone_number(std::string_view digits, std::vector<Token>& out) {
  assert(digits.size() == kPhoneDigits);
  for (char c : digits) out.push_back(kCharTokens[static_cast<unsigned char>(c)]);
  out.push_back(special::eos);
}

PhoneScore score_phone_number(std::span<const Token> expected, std::span<const Token> decoded) {
  PhoneScore score;
  for (int i = 0; i < kPhoneDigits; ++i) {
    score.digit_correct[i] = i < static_cast<int>(decoded.size()) && i < static_cast<int>(expected.size()) &&
                             decoded[i] == expected[i];
    score.digits_correct += score.digit_correct[i];
  }
  score.malformed = decoded.size() <= kPhoneDigits || decoded[kPhoneDigits] != special::eos ||
                    !std::all_of(decoded.begin(), decoded.begin() + kPhoneDigits, [](Token t) {
                      static const Token zero = phonebook_vocabulary().id("0");  // digits are consecutive
                      return t >= zero && t < zero + 10;
                    });
  score.exact = score.digits_correct == kPhoneDigits && decoded.size() > kPhoneDigits &&
                decoded[kPhoneDigits] == special::eos;
  return score;
}

}  // namespace lab
