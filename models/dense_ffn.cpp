#include "models/dense_ffn.h"

namespace lab {

DenseFfnImpl::DenseFfnImpl(int64_t d_model, int64_t width, ActivationKind activation_)
    : activation(activation_) {
  w1 = register_module("w1", torch::nn::Linear(torch::nn::LinearOptions(d_model, width).bias(false)));
  if (activation == ActivationKind::swiglu) {
    w3 = register_module("w3", torch::nn::Linear(torch::nn::LinearOptions(d_model, width).bias(false)));
  }
  w2 = register_module("w2", torch::nn::Linear(torch::nn::LinearOptions(width, d_model).bias(false)));
}

torch::Tensor DenseFfnImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = w1(x);  // h: [..., W]
  h = activation == ActivationKind::swiglu ? torch::silu(h) * w3(x) : torch::gelu(h);
  return w2(h);  // [..., D]
}

}  // namespace lab
