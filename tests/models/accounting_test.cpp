// Parameter and FLOP accounting from the config alone, checked against built models and by hand.
#include "models/accounting.h"

#include <gtest/gtest.h>

#include "models/transformer.h"

namespace lab {
namespace {

std::int64_t numel_of(const std::vector<torch::Tensor>& params) {
  std::int64_t n = 0;
  for (const torch::Tensor& p : params) n += p.numel();
  return n;
}

// The hand-computed case: V 10, T 8, d 8, 2 layers, 2 heads, d_ff 8, 4 experts top-2, GELU, LayerNorm.
ModelConfig hand_config() {
  ModelConfig c;
  c.vocab_size = 10;
  c.max_seq_len = 8;
  c.d_model = 8;
  c.layers = 2;
  c.heads = 2;
  c.ffn = FfnKind::moe;
  c.experts = 4;
  c.top_k = 2;
  return c;
}

TEST(Accounting, TotalParametersEqualTheBuiltModelsForAGridOfConfigs) {
  int checked = 0;
  for (FfnKind ffn : {FfnKind::dense, FfnKind::moe}) {
    for (NormKind norm : {NormKind::layer_norm, NormKind::rms_norm}) {
      for (PositionKind positions : {PositionKind::rope, PositionKind::learned}) {
        for (ActivationKind activation : {ActivationKind::gelu, ActivationKind::swiglu}) {
          for (int variant = 0; variant < (ffn == FfnKind::moe ? 3 : 1); ++variant) {
            ModelConfig c;
            c.vocab_size = 11;
            c.max_seq_len = 7;
            c.d_model = 16;
            c.d_ff = variant == 2 ? 24 : 0;
            c.layers = 2;
            c.heads = 2;
            c.norm = norm;
            c.positions = positions;
            c.activation = activation;
            c.ffn = ffn;
            if (variant == 0) {
              c.experts = 3;
              c.top_k = 2;
              c.expert_width = 5;
            } else {
              c.granularity = variant == 1 ? 4 : 2;  // fine-grained shorthand
              c.expansion = 2;
              c.top_k = 1;
              c.moe_output_norm = true;
            }
            Transformer model(c);
            const ParameterCounts p = count_parameters(c);
            EXPECT_EQ(p.total, numel_of(model->parameters()))
                << to_string(ffn) << " " << to_string(norm) << " " << to_string(positions) << " "
                << to_string(activation) << " variant " << variant;
            std::int64_t embedding = model->token_embedding->weight.numel() + model->head->weight.numel();
            if (model->position_embedding) embedding += model->position_embedding->weight.numel();
            EXPECT_EQ(p.embedding, embedding);
            EXPECT_EQ(p.non_embedding, p.total - p.embedding);
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 8 + 8 * 3);
}

TEST(Accounting, ActiveParametersOfAHandComputedMoe) {
  const ParameterCounts p = count_parameters(hand_config());
  // embedding: token 10*8 + head 10*8 = 160
  // per layer: 2 LayerNorms 2*16 = 32, attention 4*8*8 = 256, router 8*4 = 32, experts 4 * 2*8*8 = 512
  // total: 160 + 2 * (32 + 256 + 32 + 512) + final norm 16 = 1840
  // active per layer: 32 + 256 + 32 + 2 experts * 128 = 576; active = 160 + 2 * 576 + 16 = 1328
  EXPECT_EQ(p.embedding, 160);
  EXPECT_EQ(p.total, 1840);
  EXPECT_EQ(p.non_embedding, 1680);
  EXPECT_EQ(p.active, 1328);
  EXPECT_EQ(p.active_non_embedding, 1168);
  EXPECT_EQ(p.router, 64);
  EXPECT_EQ(p.experts, 1024);
}

TEST(Accounting, DenseActiveEqualsTotal) {
  ModelConfig c = hand_config();
  c.ffn = FfnKind::dense;
  const ParameterCounts p = count_parameters(c);
  EXPECT_EQ(p.active, p.total);
  EXPECT_EQ(p.total, 160 + 2 * (32 + 256 + 2 * 8 * 8) + 16);
}

TEST(Accounting, TrainingFlopsPerTokenOfAHandComputedMoe) {
  const FlopCounts f = count_flops(hand_config(), 8);
  EXPECT_DOUBLE_EQ(f.attention_projections, 2 * 2 * 4 * 8 * 8);  // 1024
  EXPECT_DOUBLE_EQ(f.attention_scores, 2 * 2 * 2 * 8 * 8);       // 512: q k^T and att v over 8 positions
  EXPECT_DOUBLE_EQ(f.ffn, 2 * 2 * 2 * 8 * 8 * 2);                // 1024: 2 experts of 2 matrices 8 x 8
  EXPECT_DOUBLE_EQ(f.routing, 2 * 2 * 8 * 4);                    // 128
  EXPECT_DOUBLE_EQ(f.head, 2 * 8 * 10);                          // 160
  EXPECT_DOUBLE_EQ(f.forward, 2848);
  EXPECT_DOUBLE_EQ(f.training, 3 * 2848);
}

TEST(Accounting, FineGrainedExpertsKeepActiveFlopsOfTheirBase) {
  ModelConfig base = hand_config();
  base.d_model = 64;
  base.heads = 4;
  base.experts = 8;
  base.top_k = 1;
  ModelConfig fine = base;
  fine.experts = 0;
  fine.granularity = 8;
  fine.expansion = 8;  // 64 experts of width 8, top-8
  EXPECT_DOUBLE_EQ(count_flops(base, 16).ffn, count_flops(fine, 16).ffn);
  EXPECT_DOUBLE_EQ(count_flops(fine, 16).routing, 8 * count_flops(base, 16).routing);
  EXPECT_EQ(count_parameters(base).experts, count_parameters(fine).experts);
}

}  // namespace
}  // namespace lab
