// Batched greedy decoding against the simplest possible reference: each prompt alone, the whole
// sequence recomputed at every step, argmax appended until <eos>.
#include "probes/decode.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace lab {
namespace {

ModelConfig tiny(bool moe) {
  ModelConfig c;
  c.vocab_size = 12;
  c.max_seq_len = 24;
  c.d_model = 16;
  c.layers = 2;
  c.heads = 2;
  if (moe) {
    c.ffn = FfnKind::moe;
    c.experts = 4;
    c.top_k = 2;
    c.expert_width = 8;
  }
  return c;
}

std::vector<Token> reference_decode(Transformer& model, std::span<const Token> prompt, std::int64_t budget) {
  torch::NoGradGuard no_grad;
  model->eval();
  std::vector<std::int64_t> sequence(prompt.begin(), prompt.end());
  std::vector<Token> answer;
  while (static_cast<std::int64_t>(answer.size()) < budget &&
         static_cast<std::int64_t>(sequence.size()) <= model->config().max_seq_len) {
    torch::Tensor input = torch::tensor(sequence).view({1, -1});
    const auto next = model->forward(input).logits[0][-1].argmax().item<std::int64_t>();
    answer.push_back(static_cast<Token>(next));
    if (next == special::eos) break;
    sequence.push_back(next);
  }
  return answer;
}

// Prompts of several lengths, in an order that interleaves the lengths.
std::vector<std::vector<Token>> prompts() {
  std::vector<std::vector<Token>> p;
  torch::manual_seed(7);
  for (int i = 0; i < 23; ++i) {
    const int length = 3 + (i * 5) % 9;  // 3 .. 11
    std::vector<Token> tokens{special::bos};
    for (int t = 1; t < length; ++t) tokens.push_back(static_cast<Token>(4 + (i * 7 + t * 3) % 8));
    p.push_back(tokens);
  }
  return p;
}

void expect_matches_reference(bool moe, bool use_cache, std::int64_t batch_size) {
  torch::manual_seed(1);
  Transformer model(tiny(moe));
  auto all = prompts();
  std::vector<std::span<const Token>> spans(all.begin(), all.end());
  const std::int64_t budget = 9;
  auto answers = greedy_decode(model, spans, budget, DecodeOptions{batch_size, use_cache});
  ASSERT_EQ(answers.size(), all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    // The model may only read max_seq_len tokens: prompt + all answer tokens but the last.
    const auto room = model->config().max_seq_len - static_cast<std::int64_t>(all[i].size()) + 1;
    EXPECT_EQ(answers[i], reference_decode(model, all[i], std::min(budget, room))) << "prompt " << i;
  }
}

TEST(GreedyDecode, WithKvCacheEqualsOnePromptAtATimeWithoutCacheDense) {
  expect_matches_reference(false, true, 4);
}
TEST(GreedyDecode, WithKvCacheEqualsOnePromptAtATimeWithoutCacheMoe) {
  expect_matches_reference(true, true, 5);
}
TEST(GreedyDecode, WithoutCacheEqualsTheReferenceToo) { expect_matches_reference(true, false, 64); }

TEST(GreedyDecode, StopsAtTheBudgetAndAtTheModelsLength) {
  torch::manual_seed(3);
  Transformer model(tiny(false));
  std::vector<Token> short_prompt{special::bos, 5, 6};
  std::vector<Token> long_prompt(22, 7);  // 24 - 22 + 1 = 3 tokens of room
  std::vector<std::span<const Token>> spans{short_prompt, long_prompt};
  auto answers = greedy_decode(model, spans, 5, {});
  EXPECT_LE(answers[0].size(), 5u);
  EXPECT_LE(answers[1].size(), 3u);
  std::vector<Token> too_long(25, 7);
  std::vector<std::span<const Token>> bad{too_long};
  EXPECT_THROW(greedy_decode(model, bad, 5, {}), Error);
}

TEST(GreedyDecode, RouterTallyCountsEveryRoutedRow) {
  torch::manual_seed(4);
  Transformer model(tiny(true));
  auto all = prompts();
  std::vector<std::span<const Token>> spans(all.begin(), all.end());
  RouterTally tally;
  auto answers = greedy_decode(model, spans, 4, DecodeOptions{8, true}, &tally);
  // With the cache every prompt token is processed once, and every answer token but the last.
  std::int64_t tokens = 0;
  for (std::size_t i = 0; i < all.size(); ++i) tokens += all[i].size() + answers[i].size() - 1;
  // ...except that a batch keeps stepping (and routing) rows already finished while others are not.
  ASSERT_EQ(tally.tokens_per_expert.size(), 2u);
  for (std::size_t layer = 0; layer < 2; ++layer) {
    std::int64_t rows = 0;
    for (auto c : tally.tokens_per_expert[layer]) rows += c;
    EXPECT_EQ(rows, 2 * tally.tokens[layer]);  // top-2: two rows per token
    EXPECT_GE(tally.tokens[layer], tokens);
    const double entropy = tally.entropy_sum[layer] / static_cast<double>(tally.tokens[layer]);
    EXPECT_GT(entropy, 0.0);
    EXPECT_LE(entropy, std::log(4.0) + 1e-6);
  }
}

}  // namespace
}  // namespace lab
