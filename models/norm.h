#pragma once
// The model's normalisation layer: LayerNorm (weight and bias) or RMSNorm (weight only), over the last
// dimension. Statistics are computed in fp32 whatever the input dtype; the output has the input dtype.

#include <torch/torch.h>

#include "models/model_config.h"

namespace lab {

struct NormImpl : torch::nn::Module {
  NormImpl(NormKind kind, std::int64_t d_model);
  torch::Tensor forward(const torch::Tensor& x);  // x: [..., D] -> [..., D]

  NormKind kind;
  double eps = 1e-5;
  torch::Tensor weight;  // [D], initialised to 1
  torch::Tensor bias;    // [D], initialised to 0; LayerNorm only (undefined for RMSNorm)
};
TORCH_MODULE(Norm);

}  // namespace lab
