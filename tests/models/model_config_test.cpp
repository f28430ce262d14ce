// Invalid configs are rejected with a lab::Error naming the field, before any tensor is allocated.
#include "models/model_config.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "models/accounting.h"
#include "models/transformer.h"

namespace lab {
namespace {

ModelConfig small_moe() {
  ModelConfig c;
  c.vocab_size = 16;
  c.max_seq_len = 8;
  c.d_model = 32;
  c.layers = 1;
  c.heads = 2;
  c.ffn = FfnKind::moe;
  c.experts = 4;
  c.top_k = 2;
  return c;
}

// The error message of `config` when the model is built (an absurd vocabulary would make any
// allocation before validation fail with something other than lab::Error).
std::string rejection(ModelConfig config) {
  config.vocab_size = config.vocab_size > 0 ? std::int64_t{1} << 50 : config.vocab_size;
  try {
    Transformer model(config);
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("not a lab::Error: ") + e.what();
  }
  return "accepted";
}

TEST(ModelConfig, DefaultsAndSmallConfigsAreValid) {
  EXPECT_NO_THROW(ModelConfig{}.validate());
  EXPECT_NO_THROW(small_moe().validate());
  EXPECT_EQ(ModelConfig{}.ffn_width(), ModelConfig{}.d_model);  // d_ff defaults to d_model
}

TEST(ModelConfig, HeadsThatDoNotDivideDModelAreRejectedByName) {
  ModelConfig c = small_moe();
  c.d_model = 256;
  c.heads = 6;
  EXPECT_EQ(rejection(c), "model config: heads (6) must divide d_model (256)");
}

TEST(ModelConfig, TopKAboveExpertsIsRejectedByName) {
  ModelConfig c = small_moe();
  c.top_k = 5;
  EXPECT_EQ(rejection(c), "model config: top_k (5) must not exceed experts (4)");
  c = small_moe();
  c.experts = 0;
  c.granularity = 4;
  c.expansion = 1;
  c.top_k = 2;  // 2 * 4 = 8 > 4 experts
  EXPECT_EQ(rejection(c), "model config: top_k (8) must not exceed experts (4)");
}

TEST(ModelConfig, GranularityThatDoesNotDivideDffIsRejectedByName) {
  ModelConfig c = small_moe();
  c.experts = 0;
  c.granularity = 3;
  c.expansion = 2;
  c.top_k = 1;
  EXPECT_EQ(rejection(c), "model config: granularity (3) must divide d_ff (32)");
}

TEST(ModelConfig, ZeroSizesAreRejectedByName) {
  const std::vector<std::pair<std::int64_t ModelConfig::*, std::string>> fields = {
      {&ModelConfig::vocab_size, "vocab_size"},
      {&ModelConfig::max_seq_len, "max_seq_len"},
      {&ModelConfig::d_model, "d_model"},
      {&ModelConfig::layers, "layers"},
      {&ModelConfig::heads, "heads"},
      {&ModelConfig::experts, "experts"},
      {&ModelConfig::top_k, "top_k"}};
  for (const auto& [field, name] : fields) {
    ModelConfig c = small_moe();
    c.*field = 0;
    const std::string message = rejection(c);
    EXPECT_NE(message.find("model config: " + name + " must be positive"), std::string::npos) << message;
  }
  ModelConfig c = small_moe();
  c.d_ff = -1;
  EXPECT_NE(rejection(c).find("d_ff must be positive"), std::string::npos);
  c = small_moe();
  c.expert_width = -4;
  EXPECT_NE(rejection(c).find("expert_width must be positive"), std::string::npos);
  c = small_moe();
  c.capacity_factor = 0;
  EXPECT_NE(rejection(c).find("capacity_factor must be positive"), std::string::npos);
}

TEST(ModelConfig, FineGrainedShorthandSetsExpertsWidthAndTopK) {
  ModelConfig c = small_moe();
  c.d_ff = 256;
  c.experts = 0;
  c.granularity = 8;
  c.expansion = 8;
  c.top_k = 1;
  ASSERT_NO_THROW(c.validate());
  EXPECT_EQ(c.moe_experts(), 64);
  EXPECT_EQ(c.moe_expert_width(), 32);
  EXPECT_EQ(c.moe_top_k(), 8);
  c.experts = 64;  // both ways at once is ambiguous
  EXPECT_NE(rejection(c).find("experts (64) and granularity (8) both set"), std::string::npos);
}

TEST(ModelConfig, AccountingRejectsInvalidConfigsToo) {
  ModelConfig c = small_moe();
  c.heads = 5;
  EXPECT_THROW(count_parameters(c), Error);
  EXPECT_THROW(count_flops(c, 8), Error);
}

}  // namespace
}  // namespace lab
