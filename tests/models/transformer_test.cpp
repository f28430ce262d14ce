// The whole model: attention and RoPE against their definitions, shapes, causality, the KV-cache
// forward against the full one, bf16 autocast.
#include "models/transformer.h"

#include <cmath>
#include <complex>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "models/attention.h"
#include "models/autocast.h"
#include "models/kernels.h"

namespace lab {
namespace {

ModelConfig tiny(FfnKind ffn, PositionKind positions) {
  ModelConfig c;
  c.vocab_size = 13;
  c.max_seq_len = 16;
  c.d_model = 32;
  c.layers = 2;
  c.heads = 4;
  c.positions = positions;
  c.ffn = ffn;
  c.experts = 4;
  c.top_k = 2;
  return c;
}

// RoPE against its definition as a complex rotation, in double precision: the pair (x_i, x_{i+Dh/2})
// is the complex number x_i + j x_{i+Dh/2}, turned by the angle position * 10000^(-2i/Dh). And the
// property it exists for: a rotated query-key product depends on the positions only through their
// difference.
TEST(Rope, IsAComplexRotationByPositionTimesFrequency) {
  torch::manual_seed(0);
  const std::int64_t b = 2, h = 3, t = 7, dh = 8, offset = 5, half = dh / 2;
  torch::Tensor x = torch::randn({b, h, t, dh});
  torch::Tensor rotated = apply_rope(x, offset);
  auto xa = x.accessor<float, 4>();
  auto ra = rotated.accessor<float, 4>();
  for (std::int64_t n = 0; n < b; ++n)
    for (std::int64_t head = 0; head < h; ++head)
      for (std::int64_t p = 0; p < t; ++p)
        for (std::int64_t i = 0; i < half; ++i) {
          const double angle =
              static_cast<double>(offset + p) * std::pow(10000.0, -2.0 * static_cast<double>(i) / dh);
          const std::complex<double> z(xa[n][head][p][i], xa[n][head][p][i + half]);
          const std::complex<double> turned = z * std::polar(1.0, angle);
          EXPECT_NEAR(ra[n][head][p][i], turned.real(), 1e-5);
          EXPECT_NEAR(ra[n][head][p][i + half], turned.imag(), 1e-5);
        }

  // q at position m and k at position n: the same product for (m, n) = (3, 1) and (9, 7).
  torch::Tensor q = torch::randn({1, 1, 1, dh}), k = torch::randn({1, 1, 1, dh});
  auto product = [&](std::int64_t m, std::int64_t n) {
    return (apply_rope(q, m) * apply_rope(k, n)).sum().item<double>();
  };
  EXPECT_NEAR(product(3, 1), product(9, 7), 1e-5);
  EXPECT_GT(std::abs(product(3, 1) - product(3, 2)), 1e-3);  // and it does depend on the difference
}

// Every matrix is a truncated normal (at 2 sigma) with sigma = sqrt(init_scale / fan_in), fan_in its
// input width: d_model for embeddings, projections, the router and the experts' first matrices; the
// hidden width for the second FFN matrix, dense or expert. The fan-ins are written out here by role,
// not read from the tensors' shapes, with hidden widths unlike d_model so a wrong side shows.
// The attention module (fused kernel and plain composition) against causal attention written out as
// scalar loops in double: per batch row, head and query, the scores against every earlier key, their
// softmax, the weighted values; RoPE as the rotation of each pair (e, e + Dh/2) by position x
// 10000^(-2e/Dh). Nothing of LibTorch's but the weights and the input.
std::vector<double> naive_attention(const CausalSelfAttention& attention, const torch::Tensor& x) {
  const std::int64_t b_n = x.size(0), t_n = x.size(1), d = x.size(2), heads = attention->heads;
  const std::int64_t dh = d / heads, half = dh / 2;
  const torch::Tensor w_qkv = attention->qkv->weight.to(torch::kFloat64).contiguous();  // [3D, D]
  const torch::Tensor w_out = attention->proj->weight.to(torch::kFloat64).contiguous();
  const torch::Tensor xd = x.to(torch::kFloat64).contiguous();
  const double* wq = w_qkv.data_ptr<double>();
  const double* wo = w_out.data_ptr<double>();
  const double* xs = xd.data_ptr<double>();
  std::vector<double> out(static_cast<std::size_t>(b_n * t_n * d));
  for (std::int64_t b = 0; b < b_n; ++b) {
    // packed[t][r]: row r of the qkv projection (q, k, v for every head) of position t, rotated.
    std::vector<std::vector<double>> packed(t_n, std::vector<double>(3 * d));
    for (std::int64_t t = 0; t < t_n; ++t) {
      for (std::int64_t r = 0; r < 3 * d; ++r) {
        double sum = 0;
        for (std::int64_t i = 0; i < d; ++i) sum += wq[r * d + i] * xs[(b * t_n + t) * d + i];
        packed[t][r] = sum;
      }
      if (!attention->rope) continue;
      for (std::int64_t part = 0; part < 2; ++part) {  // q and k
        for (std::int64_t h = 0; h < heads; ++h) {
          double* head = &packed[t][part * d + h * dh];
          for (std::int64_t e = 0; e < half; ++e) {
            const double angle = static_cast<double>(t) * std::pow(10000.0, -2.0 * e / dh);
            const double x1 = head[e], x2 = head[e + half];
            head[e] = x1 * std::cos(angle) - x2 * std::sin(angle);
            head[e + half] = x2 * std::cos(angle) + x1 * std::sin(angle);
          }
        }
      }
    }
    for (std::int64_t t = 0; t < t_n; ++t) {
      std::vector<double> y(d, 0.0);  // the heads' outputs, concatenated
      for (std::int64_t h = 0; h < heads; ++h) {
        std::vector<double> scores(t + 1);
        double most = -INFINITY;
        for (std::int64_t j = 0; j <= t; ++j) {
          double dot = 0;
          for (std::int64_t e = 0; e < dh; ++e) dot += packed[t][h * dh + e] * packed[j][d + h * dh + e];
          scores[j] = dot / std::sqrt(static_cast<double>(dh));
          most = std::max(most, scores[j]);
        }
        double total = 0;
        for (double& score : scores) total += score = std::exp(score - most);
        for (std::int64_t j = 0; j <= t; ++j) {
          for (std::int64_t e = 0; e < dh; ++e)
            y[h * dh + e] += scores[j] / total * packed[j][2 * d + h * dh + e];
        }
      }
      for (std::int64_t r = 0; r < d; ++r) {
        double sum = 0;
        for (std::int64_t i = 0; i < d; ++i) sum += wo[r * d + i] * y[i];
        out[(b * t_n + t) * d + r] = sum;
      }
    }
  }
  return out;
}

TEST(Attention, EqualsANaivePerHeadLoopWithEitherKernels) {
  for (PositionKind positions : {PositionKind::rope, PositionKind::learned}) {
    for (Kernels kind : {Kernels::fused, Kernels::reference}) {
      SCOPED_TRACE(::testing::Message() << (positions == PositionKind::rope ? "rope" : "no rope") << ", "
                                        << (kind == Kernels::fused ? "fused" : "reference"));
      KernelsGuard guard(kind);
      ModelConfig c = tiny(FfnKind::dense, positions);
      c.d_model = 24;
      c.heads = 3;  // Dh = 8
      torch::manual_seed(5);
      CausalSelfAttention attention(c);
      const torch::Tensor x = torch::randn({2, 9, c.d_model});
      const torch::Tensor y = attention(x).contiguous();
      const std::vector<double> expected = naive_attention(attention, x);
      ASSERT_EQ(static_cast<std::size_t>(y.numel()), expected.size());
      double worst = 0, scale = 0;
      for (std::size_t i = 0; i < expected.size(); ++i) {
        worst = std::max(worst, std::abs(y.data_ptr<float>()[i] - expected[i]));
        scale = std::max(scale, std::abs(expected[i]));
      }
      EXPECT_LT(worst, 1e-5 * scale) << "largest output " << scale;
    }
  }
}

TEST(Transformer, InitialisesEveryMatrixFromItsInputWidth) {
  const std::int64_t d = 32, hidden = 128;
  for (FfnKind ffn : {FfnKind::dense, FfnKind::moe}) {
    torch::manual_seed(0);
    ModelConfig c = tiny(ffn, PositionKind::learned);
    c.layers = 1;
    c.d_ff = hidden;
    c.expert_width = hidden;
    c.activation = ActivationKind::swiglu;
    c.init_scale = 0.1;
    const std::map<std::string, std::int64_t> fan_in = {{"token_embedding.weight", d},
                                                        {"position_embedding.weight", d},
                                                        {"blocks.0.attention.qkv.weight", d},
                                                        {"blocks.0.attention.proj.weight", d},
                                                        {"blocks.0.dense.w1.weight", d},
                                                        {"blocks.0.dense.w3.weight", d},
                                                        {"blocks.0.dense.w2.weight", hidden},
                                                        {"blocks.0.moe.router", d},
                                                        {"blocks.0.moe.w1", d},
                                                        {"blocks.0.moe.w3", d},
                                                        {"blocks.0.moe.w2", hidden},
                                                        {"head.weight", d}};
    Transformer model(c);
    int matrices = 0;
    for (const auto& item : model->named_parameters()) {
      const torch::Tensor& p = item.value();
      if (p.dim() < 2) continue;
      SCOPED_TRACE(item.key());
      ASSERT_TRUE(fan_in.contains(item.key())) << "a matrix this test does not know";
      ++matrices;
      const double sigma = std::sqrt(c.init_scale / static_cast<double>(fan_in.at(item.key())));
      const double max_abs = p.abs().max().item<double>();
      EXPECT_LE(max_abs, 2 * sigma * (1 + 1e-6));  // truncated at 2 sigma
      EXPECT_GT(max_abs, 1.5 * sigma);             // >= 128 draws: all below 1.5 sigma with p < 1e-5
      // The standard deviation of a normal truncated at +-2 sigma is 0.8796 sigma.
      EXPECT_NEAR(p.std().item<double>() / (0.8796 * sigma), 1.0, 0.15);
    }
    EXPECT_EQ(matrices, ffn == FfnKind::moe ? 9 : 8);
  }
}

TEST(Transformer, ReturnsLogitsAuxLossesAndRouterStatistics) {
  torch::manual_seed(0);
  ModelConfig c = tiny(FfnKind::moe, PositionKind::rope);
  Transformer model(c);
  torch::Tensor tokens = torch::randint(c.vocab_size, {3, 10}, torch::kInt64);
  TransformerOutput out = model(tokens);
  EXPECT_EQ(out.logits.sizes(), (std::vector<std::int64_t>{3, 10, c.vocab_size}));
  ASSERT_EQ(out.tokens_per_expert.size(), static_cast<size_t>(c.layers));
  for (const torch::Tensor& counts : out.tokens_per_expert)
    EXPECT_EQ(counts.sum().item<std::int64_t>(), 3 * 10 * 2);
  EXPECT_GE(out.load_balance_loss.item<double>(), 0.5 * c.layers);
  EXPECT_GT(out.z_loss.item<double>(), 0.0);
  EXPECT_NEAR(out.aux_loss.item<double>(),
              0.01 * out.load_balance_loss.item<double>() + 0.001 * out.z_loss.item<double>(), 1e-6);
  (out.logits.sum() + out.aux_loss).backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key() << " got no gradient";
  }
}

TEST(Transformer, InitialisationIsATruncatedNormalWithReducedScale) {
  torch::manual_seed(0);
  ModelConfig c = tiny(FfnKind::dense, PositionKind::rope);
  c.d_model = 256;
  c.heads = 4;
  Transformer model(c);
  const torch::Tensor w = model->blocks[0]->as<BlockImpl>()->attention->qkv->weight;  // [768, 256]
  const double sigma = std::sqrt(0.1 / 256.0);
  EXPECT_LE(w.abs().max().item<double>(), 2.0 * sigma + 1e-7);
  // std of a normal truncated at 2 sigma: 0.8796 sigma
  EXPECT_NEAR(w.std().item<double>(), 0.8796 * sigma, 0.02 * sigma);
}

void expect_causal(const ModelConfig& c) {
  torch::manual_seed(1);
  Transformer model(c);
  torch::NoGradGuard no_grad;
  const std::int64_t t = 6;
  torch::Tensor a = torch::randint(c.vocab_size, {2, 12}, torch::kInt64);
  torch::Tensor b = a.clone();
  b.narrow(1, t + 1, 12 - t - 1).random_(c.vocab_size);  // change every token after position t
  torch::Tensor la = model(a).logits.narrow(1, 0, t + 1);
  torch::Tensor lb = model(b).logits.narrow(1, 0, t + 1);
  EXPECT_TRUE(torch::allclose(la, lb, 1e-5, 1e-5)) << (la - lb).abs().max().item<float>();
  // and the later positions do change (the test can fail)
  EXPECT_FALSE(torch::allclose(model(a).logits.narrow(1, t + 1, 5), model(b).logits.narrow(1, t + 1, 5)));
}

TEST(Transformer, OutputsUpToTIgnoreTokensAfterT) {
  expect_causal(tiny(FfnKind::dense, PositionKind::rope));
  expect_causal(tiny(FfnKind::dense, PositionKind::learned));
  expect_causal(tiny(FfnKind::moe, PositionKind::rope));
  ModelConfig c = tiny(FfnKind::moe, PositionKind::learned);
  c.norm = NormKind::rms_norm;
  c.activation = ActivationKind::swiglu;
  c.moe_output_norm = true;
  expect_causal(c);
}

void expect_cache_matches_full_forward(const ModelConfig& c) {
  torch::manual_seed(2);
  Transformer model(c);
  torch::NoGradGuard no_grad;
  torch::Tensor tokens = torch::randint(c.vocab_size, {2, 11}, torch::kInt64);
  torch::Tensor full = model(tokens).logits;  // [2, 11, V]
  std::vector<KVCache> cache;
  std::vector<torch::Tensor> steps = {model(tokens.narrow(1, 0, 5), &cache).logits};  // prefill
  for (std::int64_t i = 5; i < 11; ++i) steps.push_back(model(tokens.narrow(1, i, 1), &cache).logits);
  EXPECT_EQ(cache[0].length(), 11);
  torch::Tensor incremental = torch::cat(steps, 1);
  EXPECT_TRUE(torch::allclose(incremental, full, 1e-4, 1e-5))
      << (incremental - full).abs().max().item<float>();
}

TEST(Transformer, KvCacheDecodingEqualsTheFullForward) {
  expect_cache_matches_full_forward(tiny(FfnKind::dense, PositionKind::rope));
  expect_cache_matches_full_forward(tiny(FfnKind::dense, PositionKind::learned));
  expect_cache_matches_full_forward(tiny(FfnKind::moe, PositionKind::rope));
}

TEST(Transformer, SequencesLongerThanMaxSeqLenAreRejected) {
  ModelConfig c = tiny(FfnKind::dense, PositionKind::learned);
  Transformer model(c);
  EXPECT_THROW(model(torch::zeros({1, c.max_seq_len + 1}, torch::kInt64)), Error);
}

TEST(Transformer, Bf16AutocastRunsTheWholeModelAndStaysCloseToFp32) {
  torch::manual_seed(3);
  ModelConfig c = tiny(FfnKind::moe, PositionKind::rope);
  c.granularity = 2;
  c.expansion = 2;
  c.experts = 0;
  c.top_k = 1;
  c.moe_output_norm = true;
  Transformer model(c);
  torch::Tensor tokens = torch::randint(c.vocab_size, {2, 12}, torch::kInt64);
  torch::Tensor targets = torch::randint(c.vocab_size, {2 * 12}, torch::kInt64);
  TransformerOutput fp32 = model(tokens);
  torch::Tensor loss32 = torch::cross_entropy_loss(fp32.logits.reshape({-1, c.vocab_size}), targets);
  torch::Tensor loss16;
  TransformerOutput bf16;
  {
    AutocastGuard autocast(torch::kCPU, torch::kBFloat16);
    bf16 = model(tokens);
    loss16 = torch::cross_entropy_loss(bf16.logits.to(torch::kFloat32).reshape({-1, c.vocab_size}), targets);
  }
  EXPECT_EQ(bf16.logits.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(bf16.aux_loss.scalar_type(), torch::kFloat32);
  EXPECT_NEAR(loss16.item<double>(), loss32.item<double>(), 0.02 * loss32.item<double>());
  (loss16 + bf16.aux_loss).backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_EQ(p.value().grad().scalar_type(), torch::kFloat32) << p.key();
    EXPECT_TRUE(p.value().grad().isfinite().all().item<bool>()) << p.key();
  }
}

}  // namespace
}  // namespace lab
