// The fused CPU attention kernel against references it shares no code with: a double-precision
// composition of LibTorch ops written here from the definitions (rotation by position *
// 10000^(-2i/Dh) of the pairs (i, i + Dh/2), scores q.k / sqrt(Dh), causal softmax), for outputs and
// gradients; against the model's own plain path (lab --kernels reference) inside the attention module
// and the whole transformer; and bit identity across thread counts.
#include "models/fused_attention.h"

#include <cmath>

#include <gtest/gtest.h>

#include "models/attention.h"
#include "models/kernels.h"
#include "models/transformer.h"

namespace lab {
namespace {

// The definition in double: qkv [B, T, 3D] -> [B, T, D].
torch::Tensor definition(const torch::Tensor& qkv, std::int64_t heads, bool rope) {
  const std::int64_t b = qkv.size(0), t = qkv.size(1), d = qkv.size(2) / 3, dh = d / heads;
  const auto f64 = qkv.options().dtype(torch::kFloat64);
  torch::Tensor x = qkv.to(torch::kFloat64).view({b, t, 3, heads, dh});
  torch::Tensor q = x.select(2, 0).transpose(1, 2), k = x.select(2, 1).transpose(1, 2);  // [B, H, T, Dh]
  torch::Tensor v = x.select(2, 2).transpose(1, 2);
  if (rope) {
    const std::int64_t half = dh / 2;
    torch::Tensor i = torch::arange(half, f64);
    torch::Tensor angle =
        torch::arange(t, f64).unsqueeze(1) * torch::pow(10000.0, -2.0 * i / dh);  // [T, Dh/2]
    auto rotate = [&](const torch::Tensor& y) {
      torch::Tensor y1 = y.narrow(-1, 0, half), y2 = y.narrow(-1, half, half);
      return torch::cat({y1 * angle.cos() - y2 * angle.sin(), y1 * angle.sin() + y2 * angle.cos()}, -1);
    };
    q = rotate(q);
    k = rotate(k);
  }
  torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(dh));
  torch::Tensor future = torch::ones({t, t}, torch::kBool).triu(1);
  torch::Tensor att = torch::softmax(scores.masked_fill(future, -INFINITY), -1);
  return torch::matmul(att, v).transpose(1, 2).reshape({b, t, d});
}

struct Case {
  std::int64_t b, t, heads, dh;
  bool rope;
};

// Heads narrower than 16 (the d8-d32 models of the CPU presets) take another path for the weighted sums
// of rows than wider ones (models/attention_kernels.cpp); T = 40 ends in a partial block of queries.
const Case kCases[] = {{3, 1, 2, 4, true},  {2, 7, 4, 4, true},   {4, 40, 4, 16, true}, {2, 40, 4, 16, false},
                       {3, 25, 4, 8, true}, {2, 33, 4, 32, true}, {1, 64, 2, 6, false}, {2, 12, 3, 10, true},
                       {2, 40, 4, 4, true}, {2, 40, 4, 2, false}, {2, 17, 4, 8, false}};

TEST(FusedAttention, OutputsAndGradientsMatchTheDefinitionInDouble) {
  for (const Case& c : kCases) {
    for (int threads : {1, 2}) {
      torch::set_num_threads(threads);
      SCOPED_TRACE(::testing::Message() << "B " << c.b << " T " << c.t << " H " << c.heads << " Dh " << c.dh
                                        << " rope " << c.rope << " threads " << threads);
      torch::manual_seed(7);
      const std::int64_t d = c.heads * c.dh;
      torch::Tensor qkv = torch::randn({c.b, c.t, 3 * d}).requires_grad_();
      torch::Tensor upstream = torch::randn({c.b, c.t, d});
      ASSERT_TRUE(fused_attention_applies(qkv, c.heads, c.rope));
      torch::Tensor y = fused_causal_attention(qkv, c.heads, c.rope);
      (y * upstream).sum().backward();
      torch::Tensor qkv64 = qkv.detach().to(torch::kFloat64).requires_grad_();
      torch::Tensor y64 = definition(qkv64, c.heads, c.rope);
      (y64 * upstream.to(torch::kFloat64)).sum().backward();
      // fp32 against double: the differences are rounding, a few ulps of values of order 1.
      EXPECT_LT((y.to(torch::kFloat64) - y64).abs().max().item<double>(), 1e-5);
      EXPECT_LT((qkv.grad().to(torch::kFloat64) - qkv64.grad()).abs().max().item<double>(), 1e-5);
    }
  }
  torch::set_num_threads(1);
}

TEST(FusedAttention, BitIdenticalAtOneAndTwoThreads) {
  for (std::int64_t d : {64, 16}) {  // heads of 16, and of 4 (the narrow heads' path)
    SCOPED_TRACE(::testing::Message() << "d " << d);
    torch::manual_seed(3);
    torch::Tensor qkv = torch::randn({8, 40, 3 * d});
    torch::Tensor upstream = torch::randn({8, 40, d});
    std::vector<torch::Tensor> outputs, grads;
    for (int threads : {1, 2}) {
      torch::set_num_threads(threads);
      torch::Tensor x = qkv.clone().requires_grad_();
      torch::Tensor y = fused_causal_attention(x, 4, true);
      (y * upstream).sum().backward();
      outputs.push_back(y.detach());
      grads.push_back(x.grad());
    }
    torch::set_num_threads(1);
    EXPECT_TRUE(torch::equal(outputs[0], outputs[1]));
    EXPECT_TRUE(torch::equal(grads[0], grads[1]));
  }
}

TEST(FusedAttention, AppliesOnlyToFp32OnTheCpuWithTheFusedKernelsSelected) {
  torch::Tensor qkv = torch::randn({2, 5, 3 * 16});
  EXPECT_TRUE(fused_attention_applies(qkv, 4, true));
  EXPECT_FALSE(fused_attention_applies(qkv.to(torch::kBFloat16), 4, true));
  EXPECT_FALSE(fused_attention_applies(qkv.to(torch::kFloat64), 4, true));
  EXPECT_FALSE(fused_attention_applies(torch::randn({2, 5, 3 * 12}), 4, true));  // odd Dh = 3 with rope
  EXPECT_TRUE(fused_attention_applies(torch::randn({2, 5, 3 * 12}), 4, false));
  EXPECT_FALSE(fused_attention_applies(torch::randn({2, 5, 3 * 2 * 72}), 2, false));  // Dh 72 > 64
  KernelsGuard reference(Kernels::reference);
  EXPECT_FALSE(fused_attention_applies(qkv, 4, true));
}

// The model's two paths on the same weights: the attention module, then the whole transformer.
TEST(FusedAttention, ModuleAndTransformerMatchThePlainPath) {
  for (PositionKind positions : {PositionKind::rope, PositionKind::learned}) {
    SCOPED_TRACE(positions == PositionKind::rope ? "rope" : "learned");
    ModelConfig c;
    c.vocab_size = 17;
    c.max_seq_len = 40;
    c.d_model = 32;
    c.layers = 2;
    c.heads = 4;
    c.positions = positions;
    torch::manual_seed(11);
    Transformer model(c);
    torch::Tensor tokens = torch::randint(c.vocab_size, {5, 31}, torch::kInt64);
    std::vector<torch::Tensor> logits;
    std::vector<std::vector<torch::Tensor>> grads(2);
    for (Kernels kind : {Kernels::fused, Kernels::reference}) {
      KernelsGuard guard(kind);
      model->zero_grad();
      torch::Tensor out = model(tokens).logits;
      out.square().sum().backward();
      logits.push_back(out.detach());
      for (const torch::Tensor& p : model->parameters()) grads[logits.size() - 1].push_back(p.grad().clone());
    }
    EXPECT_LT((logits[0] - logits[1]).abs().max().item<double>(), 1e-5);
    for (size_t i = 0; i < grads[0].size(); ++i) {
      const double scale = grads[1][i].abs().max().item<double>() + 1e-6;
      EXPECT_LT((grads[0][i] - grads[1][i]).abs().max().item<double>() / scale, 1e-4) << "parameter " << i;
    }
  }
}

}  // namespace
}  // namespace lab
