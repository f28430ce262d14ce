#pragma once
// The Mixture-of-Experts FFN: an fp32 router, token-choice or expert-choice routing, all experts as
// one grouped autograd node, an optional norm on the output. Sizes come from the ModelConfig's
// resolved MoE fields (moe_experts(), moe_expert_width(), moe_top_k()).

#include <torch/torch.h>

#include "models/model_config.h"
#include "models/norm.h"
#include "models/router.h"

namespace lab {

struct MoeOutput {
  torch::Tensor y;                  // [..., D], same leading shape as the input
  torch::Tensor load_balance_loss;  // scalar fp32, unscaled (see Routing)
  torch::Tensor z_loss;             // scalar fp32, unscaled
  torch::Tensor tokens_per_expert;  // [E] int64, detached: rows each expert computed in this call
  torch::Tensor router_entropy;     // scalar fp32, detached: mean routing entropy of this call's tokens
};

struct MoeLayerImpl : torch::nn::Module {
  explicit MoeLayerImpl(const ModelConfig& config);
  MoeOutput forward(const torch::Tensor& x);  // x: [..., D]

  // Routing of the tokens x: [N, D] (logits in fp32, autocast off), exposed for tests and probes.
  Routing route(const torch::Tensor& x);

  ModelConfig config;
  torch::Tensor router;       // [E, D]: logits = x @ router^T, kept and applied in fp32
  torch::Tensor w1;           // [E, D, W]: expert input projections (SwiGLU: the gates)
  torch::Tensor w3;           // [E, D, W]: SwiGLU's linear branch; undefined for GELU
  torch::Tensor w2;           // [E, W, D]: expert output projections
  Norm output_norm{nullptr};  // when config.moe_output_norm
};
TORCH_MODULE(MoeLayer);

}  // namespace lab
