// The router load of a metrics window (trainer/router_load.h) against counts worked out by hand.
#include "trainer/router_load.h"

#include <gtest/gtest.h>

namespace lab::router_load_test {

TEST(RouterLoad, SharesImbalanceIdleExpertsAndEntropyFromTheTally) {
  // Two layers of 4 experts: [rows of experts 0-3, entropy summed over tokens, tokens].
  const std::vector<double> tally = {6, 2, 0, 0, 8 * 0.5, 8,   // layer 0: 8 tokens, top-1
                                     4, 4, 4, 4, 8 * 1.2, 8};  // layer 1: perfectly even
  const nlohmann::json layers = router_load_json(tally, 4);
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].at("layer"), 0);
  EXPECT_EQ(layers[0].at("expert_share"), (std::vector<double>{0.75, 0.25, 0, 0}));
  EXPECT_DOUBLE_EQ(layers[0].at("imbalance").get<double>(), 6.0 / 2.0);  // max 6 over mean 2
  EXPECT_EQ(layers[0].at("idle_experts"), 2);
  EXPECT_DOUBLE_EQ(layers[0].at("routing_entropy").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(layers[1].at("imbalance").get<double>(), 1.0);
  EXPECT_EQ(layers[1].at("idle_experts"), 0);
  EXPECT_DOUBLE_EQ(layers[1].at("routing_entropy").get<double>(), 1.2);
  EXPECT_TRUE(router_load_json({}, 4).empty());                  // a dense model
  EXPECT_TRUE(router_load_json({0, 0, 0, 0, 0, 0}, 4).empty());  // nothing routed yet
}

TEST(RouterLoad, TheTallyOfAForwardPassCountsEveryRow) {
  ModelConfig c;
  c.vocab_size = 11;
  c.max_seq_len = 8;
  c.d_model = 8;
  c.layers = 2;
  c.heads = 2;
  c.ffn = FfnKind::moe;
  c.experts = 4;
  c.top_k = 2;
  ASSERT_EQ(router_tally_size(c), 2u * 6u);
  Transformer model(c);
  const TransformerOutput out = model->forward(torch::randint(11, {3, 5}, torch::kLong));
  std::vector<double> tally(router_tally_size(c), 0.0);
  add_router_tally(tally, out, 15);
  for (int layer = 0; layer < 2; ++layer) {
    double rows = 0;
    for (int e = 0; e < 4; ++e) rows += tally[layer * 6 + e];
    EXPECT_EQ(rows, 15 * 2) << "every token takes top_k rows";
    EXPECT_EQ(tally[layer * 6 + 5], 15);
    EXPECT_GT(tally[layer * 6 + 4], 0);
    EXPECT_LE(tally[layer * 6 + 4] / 15, std::log(4.0) + 1e-6);
  }
  ModelConfig dense = c;
  dense.ffn = FfnKind::dense;
  dense.experts = 0;
  EXPECT_EQ(router_tally_size(dense), 0u);
}

}  // namespace lab::router_load_test
