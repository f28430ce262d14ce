#pragma once
// Causal multi-head self-attention with rotary or no position encoding (learned positions are added
// to the embeddings by the Transformer). Decoding reuses past keys and values through a KVCache:
// prefill with the prompt once, then feed one token per step; positions continue from the cache.

#include <utility>

#include <torch/torch.h>

#include "models/model_config.h"

namespace lab {

// Keys and values of the positions already seen, for one attention layer.
struct KVCache {
  torch::Tensor k;  // [B, H, T_past, Dh], undefined while empty
  torch::Tensor v;  // [B, H, T_past, Dh]
  std::int64_t length() const { return k.defined() ? k.size(2) : 0; }
};

struct CausalSelfAttentionImpl : torch::nn::Module {
  explicit CausalSelfAttentionImpl(const ModelConfig& config);

  // x: [B, T, D] -> [B, T, D]. With a cache, x holds the positions after the cached ones; the cache
  // grows by T. Query i may attend to every key at the same or an earlier absolute position.
  torch::Tensor forward(const torch::Tensor& x, KVCache* cache = nullptr);

  std::int64_t heads;
  std::int64_t head_dim;
  bool rope;
  torch::nn::Linear qkv{nullptr};   // [3D, D]: q, k, v for every head, no bias
  torch::nn::Linear proj{nullptr};  // [D, D]: output projection, no bias
};
TORCH_MODULE(CausalSelfAttention);

// Rotary position embedding of q or k: x [B, H, T, Dh] at absolute positions offset .. offset+T-1.
// Rotates the pairs (i, i + Dh/2) by angle position * 10000^(-2i/Dh) (GPT-NeoX / Llama layout).
torch::Tensor apply_rope(const torch::Tensor& x, std::int64_t offset);

// The rotation's cos and sin at positions offset .. offset+T-1 for head dimension Dh: [T, Dh/2] fp32
// each (shared by apply_rope and the fused kernel, so both rotate by the same angles).
std::pair<torch::Tensor, torch::Tensor> rope_tables(std::int64_t t, std::int64_t head_dim,
                                                    std::int64_t offset, const torch::TensorOptions& options);

}  // namespace lab
