#include "models/attention.h"

#include <cmath>

#include "models/fused_attention.h"
#include "models/parallel_linear.h"

namespace lab {

CausalSelfAttentionImpl::CausalSelfAttentionImpl(const ModelConfig& config)
    : heads(config.heads),
      head_dim(config.d_model / config.heads),
      rope(config.positions == PositionKind::rope) {
  const std::int64_t d = config.d_model;
  qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(d, 3 * d).bias(false)));
  proj = register_module("proj", torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(false)));
}

std::pair<torch::Tensor, torch::Tensor> rope_tables(std::int64_t t, std::int64_t head_dim,
                                                    std::int64_t offset,
                                                    const torch::TensorOptions& options) {
  const std::int64_t half = head_dim / 2;
  const auto f32 = options.dtype(torch::kFloat32);
  torch::Tensor inv_freq =
      torch::pow(10000.0, -torch::arange(half, f32) * (2.0 / static_cast<double>(head_dim)));
  torch::Tensor angle = torch::outer(torch::arange(offset, offset + t, f32), inv_freq);  // [T, Dh/2]
  return {angle.cos(), angle.sin()};
}

torch::Tensor apply_rope(const torch::Tensor& x, std::int64_t offset) {
  const std::int64_t half = x.size(3) / 2;
  auto [cos_f32, sin_f32] = rope_tables(x.size(2), x.size(3), offset, x.options());
  torch::Tensor cos = cos_f32.to(x.scalar_type());  // [T, Dh/2]
  torch::Tensor sin = sin_f32.to(x.scalar_type());
  torch::Tensor x1 = x.narrow(-1, 0, half);  // [B, H, T, Dh/2]
  torch::Tensor x2 = x.narrow(-1, half, half);
  return torch::cat({x1 * cos - x2 * sin, x2 * cos + x1 * sin}, -1);  // [B, H, T, Dh]
}

torch::Tensor CausalSelfAttentionImpl::forward(const torch::Tensor& x, KVCache* cache) {
  const std::int64_t b = x.size(0), t = x.size(1), d = x.size(2);
  const std::int64_t past = cache ? cache->length() : 0;
  torch::Tensor packed = linear_projection(x, qkv->weight);  // [B, T, 3D]
  if (cache == nullptr && fused_attention_applies(packed, heads, rope)) {
    return linear_projection(fused_causal_attention(packed, heads, rope), proj->weight);
  }
  // The plain composition (the reference of the fused kernel): q, k, v: [B, H, T, Dh]
  std::vector<torch::Tensor> parts =
      packed.view({b, t, 3, heads, head_dim}).permute({2, 0, 3, 1, 4}).unbind(0);
  torch::Tensor q = parts[0], k = parts[1], v = parts[2];
  if (rope) {
    q = apply_rope(q, past);
    k = apply_rope(k, past);
  }
  if (cache) {
    if (past > 0) {
      k = torch::cat({cache->k, k.to(cache->k.scalar_type())}, 2);  // [B, H, S, Dh], S = past + T
      v = torch::cat({cache->v, v.to(cache->v.scalar_type())}, 2);
    }
    cache->k = k.detach();
    cache->v = v.detach();
  }
  const std::int64_t s = past + t;
  // scores: [B, H, T, S]; query i sits at absolute position past + i and sees keys 0 .. past + i.
  torch::Tensor scores =
      torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(head_dim)));
  torch::Tensor future = torch::ones({t, s}, x.options().dtype(torch::kBool)).triu(past + 1);  // [T, S]
  scores = scores.to(torch::kFloat32).masked_fill(future, -std::numeric_limits<float>::infinity());
  torch::Tensor att = torch::softmax(scores, -1).to(v.scalar_type());            // [B, H, T, S]
  torch::Tensor y = torch::matmul(att, v);                                       // [B, H, T, Dh]
  return linear_projection(y.transpose(1, 2).reshape({b, t, d}), proj->weight);  // [B, T, D]
}

}  // namespace lab
