#pragma once
// The dense feed-forward block: GELU (w2 gelu(w1 x)) or SwiGLU (w2 (silu(w1 x) * w3 x)), no biases.

#include <torch/torch.h>

#include "models/model_config.h"

namespace lab {

struct DenseFfnImpl : torch::nn::Module {
  DenseFfnImpl(std::int64_t d_model, std::int64_t width, ActivationKind activation);
  torch::Tensor forward(const torch::Tensor& x);  // x: [..., D] -> [..., D]

  ActivationKind activation;
  torch::nn::Linear w1{nullptr};  // [W, D]: input projection (the gate for SwiGLU)
  torch::nn::Linear w3{nullptr};  // [W, D]: SwiGLU's linear branch; null for GELU
  torch::nn::Linear w2{nullptr};  // [D, W]: output projection
};
TORCH_MODULE(DenseFfn);

}  // namespace lab
