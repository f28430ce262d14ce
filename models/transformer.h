#pragma once
// The decoder-only transformer: token embedding (+ learned positions), `layers` pre-norm blocks
// (x += attn(norm(x)); x += ffn(norm(x))), a final norm and an untied output head. The FFN of every
// block is dense or MoE as the config says. Weights start from a truncated normal with
// sigma = sqrt(init_scale / fan_in), cut at 2 sigma; norms start at weight 1, bias 0.
//
// The trainer computes the task loss from `logits` and adds `aux_loss` (the coefficient-weighted sum
// of the routers' losses); the unscaled sums are there for logging.

#include <vector>

#include <torch/torch.h>

#include "models/attention.h"
#include "models/dense_ffn.h"
#include "models/model_config.h"
#include "models/moe_layer.h"
#include "models/norm.h"

namespace lab {

struct TransformerOutput {
  torch::Tensor logits;             // [B, T, V], in the compute dtype (bf16 under autocast)
  torch::Tensor aux_loss;           // scalar fp32: load_balance_coef * load_balance + z_loss_coef * z_loss
  torch::Tensor load_balance_loss;  // scalar fp32: unscaled load-balancing losses summed over MoE layers
  torch::Tensor z_loss;             // scalar fp32: unscaled router z-losses summed over MoE layers
  std::vector<torch::Tensor> tokens_per_expert;  // per MoE layer: [E] int64, rows each expert took
  std::vector<torch::Tensor> router_entropy;     // per MoE layer: scalar, mean routing entropy (nats)
};

struct BlockImpl : torch::nn::Module {
  explicit BlockImpl(const ModelConfig& config);
  // x: [B, T, D] -> [B, T, D]; an MoE block stores its router outputs in *moe (if non-null).
  torch::Tensor forward(const torch::Tensor& x, KVCache* cache, MoeOutput* moe);

  Norm norm1{nullptr}, norm2{nullptr};
  CausalSelfAttention attention{nullptr};
  DenseFfn dense{nullptr};  // exactly one of dense and moe is set
  MoeLayer moe{nullptr};
};
TORCH_MODULE(Block);

struct TransformerImpl : torch::nn::Module {
  // Validates the config (lab::Error before any allocation), builds and initialises the model on
  // `device`, seeded by the caller's torch::manual_seed.
  explicit TransformerImpl(const ModelConfig& config, torch::Device device = torch::Device(torch::kCPU));

  // tokens: [B, T] int64 with T <= max_seq_len (past + T with a cache). With `cache` (one KVCache
  // per layer, resized on first use) the tokens continue the cached positions: prefill the prompt
  // once, then feed one token per step.
  TransformerOutput forward(const torch::Tensor& tokens, std::vector<KVCache>* cache = nullptr);

  const ModelConfig& config() const { return config_; }

  torch::nn::Embedding token_embedding{nullptr};     // [V, D]
  torch::nn::Embedding position_embedding{nullptr};  // [max_seq_len, D], learned positions only
  torch::nn::ModuleList blocks{nullptr};
  Norm final_norm{nullptr};
  torch::nn::Linear head{nullptr};  // [V, D], no bias, not tied to the embedding

 private:
  ModelConfig config_;  // validated; read through config()
};
TORCH_MODULE(Transformer);

// Fills `weight` in place from a normal(0, sigma) truncated to [-2 sigma, 2 sigma].
void truncated_normal_(torch::Tensor& weight, double sigma);

}  // namespace lab
