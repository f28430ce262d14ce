// Vocabularies: every token's text maps back to the token, and rendering joins texts as documented.
#include "tasks/vocabulary.h"

#include <gtest/gtest.h>

#include "tasks/graph_task.h"
#include "tasks/phonebook_task.h"

namespace lab {
namespace {

TEST(Vocabulary, EveryTokenRoundTripsThroughItsText) {
  for (const Vocabulary& vocabulary :
       {graph_vocabulary(GraphFormat{32}), graph_vocabulary(GraphFormat{4096}), phonebook_vocabulary()}) {
    for (std::size_t i = 0; i < vocabulary.size(); ++i) {
      const Token token = static_cast<Token>(i);
      ASSERT_EQ(vocabulary.find(vocabulary.text(token)), token) << vocabulary.text(token);
      ASSERT_EQ(vocabulary.id(vocabulary.text(token)), token);
    }
    EXPECT_FALSE(vocabulary.find("no such token").has_value());
  }
}

TEST(Vocabulary, SpecialsComeFirstInEveryTask) {
  for (const Vocabulary& vocabulary : {graph_vocabulary(GraphFormat{8}), phonebook_vocabulary()}) {
    EXPECT_EQ(vocabulary.text(special::pad), "<pad>");
    EXPECT_EQ(vocabulary.text(special::bos), "<bos>");
    EXPECT_EQ(vocabulary.text(special::eos), "<eos>");
    EXPECT_EQ(vocabulary.text(special::sep), "<sep>");
  }
}

TEST(Vocabulary, GraphVocabularyHasQueryAnswersThenOneTokenPerLabel) {
  Vocabulary vocabulary = graph_vocabulary(GraphFormat{32});
  EXPECT_EQ(vocabulary.size(), 7u + 32u + 1u);  // format 2: <e> after the labels
  EXPECT_EQ(vocabulary.text(static_cast<Token>(7 + 32)), "<e>");
  EXPECT_EQ(vocabulary.text(graph_token::query), "<q>");
  EXPECT_EQ(vocabulary.text(graph_token::yes), "<yes>");
  EXPECT_EQ(vocabulary.text(graph_token::no), "<no>");
  for (int label = 0; label < 32; ++label)
    EXPECT_EQ(vocabulary.text(label_token(label)), std::to_string(label));
}

TEST(Vocabulary, RenderJoinsWithTheSeparatorAndMarksUnknownIds) {
  Vocabulary graph = graph_vocabulary(GraphFormat{10});
  std::vector<Token> tokens = {special::bos, label_token(3), label_token(7), graph_token::query,
                               special::sep};
  EXPECT_EQ(graph.render(tokens), "<bos> 3 7 <q> <sep>");
  std::vector<Token> unknown = {label_token(9), static_cast<Token>(graph.size())};
  EXPECT_EQ(graph.render(unknown), "9 <?>");
  EXPECT_EQ(graph.render({}), "");
}

TEST(Vocabulary, PhonebookVocabularyHoldsEveryNameAndDigitCharacter) {
  const Vocabulary& vocabulary = phonebook_vocabulary();
  EXPECT_EQ(vocabulary.separator(), "");
  std::string all = " :-'0123456789";
  for (char c = 'A'; c <= 'Z'; ++c) all += c;
  for (char c = 'a'; c <= 'z'; ++c) all += c;
  for (char c : all) EXPECT_TRUE(vocabulary.find(std::string(1, c)).has_value()) << c;
  EXPECT_EQ(vocabulary.size(), special::count + all.size());

  std::vector<Token> tokens;
  append_phonebook_prompt("Ada O'Neil-Bo", tokens);
  append_phone_number("6123456789", tokens);
  EXPECT_EQ(vocabulary.render(tokens), "<bos>Ada O'Neil-Bo:<sep>6123456789<eos>");
}

TEST(Vocabulary, NameCharactersAreLettersSpaceHyphenApostrophe) {
  for (char c : std::string("aZ -'")) EXPECT_TRUE(is_name_character(c)) << c;
  for (char c : std::string(":09_.\t\n")) EXPECT_FALSE(is_name_character(c)) << c;
  EXPECT_FALSE(is_name_character('\0'));
  EXPECT_FALSE(is_name_character(static_cast<char>(0xE9)));
}

}  // namespace
}  // namespace lab
