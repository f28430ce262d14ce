#include "models/accounting.h"

#include <cmath>

#include "core/error.h"

namespace lab {
namespace {

// Parameter counts in checked arithmetic: a model too large for int64 (a typo such as --d-model
// 8000000000) is a user error naming the size, not a negative count.
[[noreturn]] void overflow() {
  fail(
      "model config: the parameter count overflows 64 bits; d_model, layers, experts and their widths are "
      "far too large");
}
std::int64_t mul(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) overflow();
  return r;
}
std::int64_t mul(std::int64_t a, std::int64_t b, std::int64_t c) { return mul(mul(a, b), c); }
std::int64_t add(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) overflow();
  return r;
}

std::int64_t norm_parameters(const ModelConfig& c) {
  return c.norm == NormKind::layer_norm ? 2 * c.d_model : c.d_model;
}
std::int64_t ffn_matrices(const ModelConfig& c) { return c.activation == ActivationKind::swiglu ? 3 : 2; }

}  // namespace

double active_experts_per_token(const ModelConfig& c) {
  if (!c.is_moe()) return 0.0;
  const double k = static_cast<double>(c.moe_top_k());
  return c.router == RouterKind::expert_choice ? c.capacity_factor * k : k;
}

ParameterCounts count_parameters(const ModelConfig& c) {
  c.validate();
  const std::int64_t d = c.d_model;
  ParameterCounts p;
  p.embedding = mul(2, c.vocab_size, d);  // token embedding + output head
  if (c.positions == PositionKind::learned) p.embedding = add(p.embedding, mul(c.max_seq_len, d));

  const std::int64_t attention = mul(4, d, d);  // qkv [3d, d] + output [d, d], no biases
  std::int64_t per_layer = add(mul(2, norm_parameters(c)), attention);  // pre-attention and pre-FFN norms
  std::int64_t active_per_layer = per_layer;
  if (c.is_moe()) {
    const std::int64_t one_expert = mul(ffn_matrices(c), d, c.moe_expert_width());
    const std::int64_t router = mul(d, c.moe_experts());
    const std::int64_t output_norm = c.moe_output_norm ? norm_parameters(c) : 0;
    per_layer = add(add(per_layer, router), add(mul(c.moe_experts(), one_expert), output_norm));
    const auto active_experts = static_cast<std::int64_t>(std::llround(active_experts_per_token(c)));
    active_per_layer = add(add(active_per_layer, router), add(mul(active_experts, one_expert), output_norm));
    p.router = mul(c.layers, router);
    p.experts = mul(c.layers, c.moe_experts(), one_expert);
  } else {
    per_layer = add(per_layer, mul(ffn_matrices(c), d, c.ffn_width()));
    active_per_layer = per_layer;
  }
  p.non_embedding = add(mul(c.layers, per_layer), norm_parameters(c));  // + the final norm
  p.total = add(p.embedding, p.non_embedding);
  p.active_non_embedding = add(mul(c.layers, active_per_layer), norm_parameters(c));
  p.active = add(p.embedding, p.active_non_embedding);
  constexpr std::int64_t kMostParameters = 100'000'000'000'000;  // 1e14: far beyond any model that trains
  if (p.total > kMostParameters) {
    fail(
        "model config: {} parameters is more than the 1e14 the lab accepts; check d_model, layers and "
        "experts",
        p.total);
  }
  return p;
}

FlopCounts count_flops(const ModelConfig& c, std::int64_t seq_len) {
  c.validate();
  const auto d = static_cast<double>(c.d_model);
  const auto layers = static_cast<double>(c.layers);
  const auto matrices = static_cast<double>(ffn_matrices(c));
  FlopCounts f;
  f.attention_projections = layers * 2.0 * 4.0 * d * d;
  f.attention_scores = layers * 2.0 * 2.0 * static_cast<double>(seq_len) * d;
  if (c.is_moe()) {
    f.ffn =
        layers * 2.0 * matrices * d * static_cast<double>(c.moe_expert_width()) * active_experts_per_token(c);
    f.routing = layers * 2.0 * d * static_cast<double>(c.moe_experts());
  } else {
    f.ffn = layers * 2.0 * matrices * d * static_cast<double>(c.ffn_width());
  }
  f.head = 2.0 * d * static_cast<double>(c.vocab_size);
  f.forward = f.attention_projections + f.attention_scores + f.ffn + f.routing + f.head;
  f.training = 3.0 * f.forward;
  return f;
}

}  // namespace lab
