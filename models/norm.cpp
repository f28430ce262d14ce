#include "models/norm.h"

namespace lab {

NormImpl::NormImpl(NormKind kind_, std::int64_t d_model) : kind(kind_) {
  weight = register_parameter("weight", torch::ones({d_model}));
  if (kind == NormKind::layer_norm) bias = register_parameter("bias", torch::zeros({d_model}));
}

torch::Tensor NormImpl::forward(const torch::Tensor& x) {
  const torch::Tensor xf = x.to(torch::kFloat32);  // x: [..., D]
  torch::Tensor y;
  if (kind == NormKind::layer_norm) {
    y = torch::layer_norm(xf, {xf.size(-1)}, weight.to(torch::kFloat32), bias.to(torch::kFloat32), eps);
  } else {
    y = xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps) * weight.to(torch::kFloat32);
  }
  return y.to(x.scalar_type());
}

}  // namespace lab
