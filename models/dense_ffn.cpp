#include "models/dense_ffn.h"

#include "models/parallel_linear.h"

namespace lab {

DenseFfnImpl::DenseFfnImpl(std::int64_t d_model, std::int64_t width, ActivationKind activation_)
    : activation(activation_) {
  w1 = register_module("w1", torch::nn::Linear(torch::nn::LinearOptions(d_model, width).bias(false)));
  if (activation == ActivationKind::swiglu) {
    w3 = register_module("w3", torch::nn::Linear(torch::nn::LinearOptions(d_model, width).bias(false)));
  }
  w2 = register_module("w2", torch::nn::Linear(torch::nn::LinearOptions(width, d_model).bias(false)));
}

torch::Tensor DenseFfnImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = linear_projection(x, w1->weight);  // h: [..., W]
  h = activation == ActivationKind::swiglu ? torch::silu(h) * linear_projection(x, w3->weight)
                                           : torch::gelu(h);
  return linear_projection(h, w2->weight);  // [..., D]
}

}  // namespace lab
