#include "models/moe_layer.h"

#include <algorithm>
#include <cmath>

#include "models/autocast.h"
#include "models/batched_experts.h"
#include "models/grouped_experts.h"

namespace lab {

MoeLayerImpl::MoeLayerImpl(const ModelConfig& config_) : config(config_) {
  config.validate();
  const std::int64_t e = config.moe_experts(), d = config.d_model, w = config.moe_expert_width();
  // Plain initial values; the Transformer re-initialises every weight with its truncated normal.
  router = register_parameter("router", torch::randn({e, d}) / std::sqrt(static_cast<double>(d)));
  w1 = register_parameter("w1", torch::randn({e, d, w}) / std::sqrt(static_cast<double>(d)));
  if (config.activation == ActivationKind::swiglu) {
    w3 = register_parameter("w3", torch::randn({e, d, w}) / std::sqrt(static_cast<double>(d)));
  }
  w2 = register_parameter("w2", torch::randn({e, w, d}) / std::sqrt(static_cast<double>(w)));
  if (config.moe_output_norm) output_norm = register_module("output_norm", Norm(config.norm, d));
}

Routing MoeLayerImpl::route(const torch::Tensor& x) {
  NoAutocastGuard fp32_router(x.device().type());
  torch::Tensor logits = torch::mm(x.to(torch::kFloat32), router.to(torch::kFloat32).t());  // [N, E]
  if (config.router == RouterKind::token_choice) return route_token_choice(logits, config.moe_top_k());
  // Groups of group_size tokens; the batch's token count (any, with variable-length examples) leaves a
  // shorter last group, whose experts take the capacity of its size.
  const std::int64_t n = x.size(0);
  const std::int64_t group = config.group_size > 0 ? std::min(config.group_size, n) : n;
  const std::int64_t tail = n % group;
  return route_expert_choice(logits, group, config.expert_capacity(group),
                             tail > 0 ? config.expert_capacity(tail) : 0);
}

MoeOutput MoeLayerImpl::forward(const torch::Tensor& x) {
  const std::int64_t d = x.size(-1);
  torch::Tensor tokens = x.reshape({-1, d});  // [N, D]
  Routing r = route(tokens);
  // Under autocast the experts run in the autocast dtype; the casts are autograd ops, so gradients
  // reach the fp32 master weights and the fp32 routing weights.
  const torch::Dtype dtype = compute_dtype(tokens);
  // The CPU loops over experts on cache-sized blocks; other devices run batched products (no host
  // synchronisation per expert).
  const torch::Tensor xs = tokens.to(dtype), w1s = w1.to(dtype), w2s = w2.to(dtype),
                      w3s = w3.defined() ? w3.to(dtype) : torch::Tensor(),
                      weights = r.weight_of_row.to(dtype);
  torch::Tensor y =
      tokens.is_cpu()
          ? grouped_experts(xs, w1s, w2s, w3s, weights, r.token_of_row, r.rows_per_expert, config.activation)
          : batched_experts(xs, w1s, w2s, w3s, weights, r.token_of_row, r.tokens_per_expert,
                            config.activation);  // [N, D]
  if (output_norm) y = output_norm(y);
  return MoeOutput{y.view(x.sizes()), r.load_balance_loss, r.z_loss, r.tokens_per_expert.detach(), r.entropy};
}

}  // namespace lab
