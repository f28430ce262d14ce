#pragma once
// The memorization task (TASKS.md): a closed-book phone book of full names and 10-digit numbers.
//
//   prompt:  <bos> F i r s t ␣ L a s t : <sep>     one token per character
//   answer:  d d d d d d d d d d <eos>             first digit 6-9, the rest 0-9

#include <array>
#include <span>
#include <string_view>
#include <vector>

#include "tasks/vocabulary.h"

namespace lab {

constexpr int kPhoneDigits = 10;

// Specials, then ' ', ':', '-', '\'', the digits, A-Z and a-z.
const Vocabulary& phonebook_vocabulary();

// Characters a name may hold: letters, space, hyphen, apostrophe.
bool is_name_character(char c);

// The name must consist of name characters (a bug otherwise: callers validate user input first).
void append_phonebook_prompt(std::string_view name, std::vector<Token>& out);
// Ten digit characters, then <eos>.
void append_phone_number(std::string_view digits, std::vector<Token>& out);

struct PhoneScore {
  bool exact = false;                              // all ten digits right, then <eos>
  int digits_correct = 0;                          // positions 0..9 that match
  std::array<bool, kPhoneDigits> digit_correct{};  // per position
  bool malformed = true;                           // not ten digits then <eos>
};

// `expected`: the stored answer; `decoded`: what a model produced (scored position by position).
PhoneScore score_phone_number(std::span<const Token> expected, std::span<const Token> decoded);

}  // namespace lab
