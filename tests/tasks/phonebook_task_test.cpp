// Phone-book examples serialize one token per character, and numbers are scored exactly and per digit.
#include "tasks/phonebook_task.h"

#include <gtest/gtest.h>

namespace lab {
namespace {

std::vector<Token> number(std::string_view digits, bool eos = true) {
  std::vector<Token> out;
  for (char c : digits) out.push_back(*phonebook_vocabulary().find(std::string(1, c)));
  if (eos) out.push_back(special::eos);
  return out;
}

TEST(PhonebookPrompt, OneTokenPerCharacterBetweenBosAndColonSep) {
  std::vector<Token> tokens;
  append_phonebook_prompt("Bo Ka", tokens);
  ASSERT_EQ(tokens.size(), 1u + 5u + 2u);
  EXPECT_EQ(tokens.front(), special::bos);
  EXPECT_EQ(tokens.back(), special::sep);
  EXPECT_EQ(phonebook_vocabulary().render(tokens), "<bos>Bo Ka:<sep>");
  std::vector<Token> answer;
  append_phone_number("9000000001", answer);
  EXPECT_EQ(answer, number("9000000001"));
  EXPECT_EQ(answer.size(), 11u);
}

TEST(ScorePhoneNumber, ExactNumberThenEos) {
  PhoneScore score = score_phone_number(number("6123456789"), number("6123456789"));
  EXPECT_TRUE(score.exact);
  EXPECT_EQ(score.digits_correct, 10);
}

TEST(ScorePhoneNumber, CountsMatchingPositions) {
  PhoneScore score = score_phone_number(number("6123456789"), number("6123456780"));
  EXPECT_FALSE(score.exact);
  EXPECT_EQ(score.digits_correct, 9);
  score = score_phone_number(number("6123456789"), number("7023456709"));  // positions 0, 1, 8 differ
  EXPECT_FALSE(score.exact);
  EXPECT_EQ(score.digits_correct, 7);
  score = score_phone_number(number("6123456789"), number("9876543210"));
  EXPECT_EQ(score.digits_correct, 0);
}

TEST(ScorePhoneNumber, WrongPositionsAndMalformedAnswers) {
  PhoneScore score = score_phone_number(number("6123456789"), number("7023456709"));  // 0, 1, 8 differ
  for (int d = 0; d < kPhoneDigits; ++d) EXPECT_EQ(score.digit_correct[d], d != 0 && d != 1 && d != 8) << d;
  EXPECT_FALSE(score.malformed) << "ten digits then <eos>, just wrong ones";
  EXPECT_FALSE(score_phone_number(number("6123456789"), number("6123456789")).malformed);
  EXPECT_TRUE(score_phone_number(number("6123456789"), number("61234")).malformed) << "five digits";
  EXPECT_TRUE(score_phone_number(number("6123456789"), number("6123456789", false)).malformed) << "no <eos>";
  std::vector<Token> letter = number("6123456789");
  letter[3] = *phonebook_vocabulary().find("a");
  score = score_phone_number(number("6123456789"), letter);
  EXPECT_TRUE(score.malformed) << "a letter among the digits";
  EXPECT_EQ(score.digits_correct, 9);
  EXPECT_FALSE(score.digit_correct[3]);
}

TEST(ScorePhoneNumber, ShiftedDigitsDoNotCount) {
  // The right digits one position late match nowhere except by coincidence: none here.
  PhoneScore score = score_phone_number(number("6123456789"), number("6612345678"));
  EXPECT_EQ(score.digits_correct, 1);
  EXPECT_FALSE(score.exact);
}

TEST(ScorePhoneNumber, ShortOrUnterminatedAnswersAreNotExact) {
  PhoneScore score = score_phone_number(number("6123456789"), number("61234", false));
  EXPECT_EQ(score.digits_correct, 5);
  EXPECT_FALSE(score.exact);
  score = score_phone_number(number("6123456789"), number("6123456789", false));
  EXPECT_EQ(score.digits_correct, 10);
  EXPECT_FALSE(score.exact) << "no <eos>";
  std::vector<Token> longer = number("61234567890");  // an eleventh digit instead of <eos>
  score = score_phone_number(number("6123456789"), longer);
  EXPECT_EQ(score.digits_correct, 10);
  EXPECT_FALSE(score.exact);
  score = score_phone_number(number("6123456789"), std::vector<Token>{});
  EXPECT_EQ(score.digits_correct, 0);
  EXPECT_FALSE(score.exact);
}

TEST(ScorePhoneNumber, EosInsideTheNumberIsAWrongDigit) {
  std::vector<Token> decoded = number("6123456789");
  decoded[4] = special::eos;
  PhoneScore score = score_phone_number(number("6123456789"), decoded);
  EXPECT_EQ(score.digits_correct, 9);
  EXPECT_FALSE(score.exact);
}

}  // namespace
}  // namespace lab
