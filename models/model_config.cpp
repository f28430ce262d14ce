#include "models/model_config.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace lab {

int64_t ModelConfig::moe_experts() const { return granularity > 0 ? expansion * granularity : experts; }

int64_t ModelConfig::moe_expert_width() const {
  if (expert_width > 0) return expert_width;
  return granularity > 0 ? ffn_width() / granularity : ffn_width();
}

int64_t ModelConfig::moe_top_k() const { return granularity > 0 ? top_k * granularity : top_k; }

int64_t ModelConfig::expert_capacity(int64_t group_tokens) const {
  const double wanted = capacity_factor * static_cast<double>(moe_top_k()) *
                        static_cast<double>(group_tokens) / static_cast<double>(moe_experts());
  const auto capacity = static_cast<int64_t>(std::ceil(wanted));
  return std::clamp<int64_t>(capacity, 1, group_tokens);
}

namespace {

void require_positive(int64_t value, const char* field) {
  if (value <= 0) fail("model config: {} must be positive, got {}", field, value);
}

}  // namespace

void ModelConfig::validate() const {
  require_positive(vocab_size, "vocab_size");
  require_positive(max_seq_len, "max_seq_len");
  require_positive(d_model, "d_model");
  require_positive(layers, "layers");
  require_positive(heads, "heads");
  if (d_ff < 0) fail("model config: d_ff must be positive (or 0 for d_model), got {}", d_ff);
  if (d_model % heads != 0) fail("model config: heads ({}) must divide d_model ({})", heads, d_model);
  if (positions == PositionKind::rope && (d_model / heads) % 2 != 0) {
    fail("model config: rope positions need an even head size, d_model / heads = {}", d_model / heads);
  }
  if (!(init_scale > 0.0) || !std::isfinite(init_scale)) {
    fail("model config: init_scale must be positive, got {}", init_scale);
  }
  if (ffn == FfnKind::dense) return;

  require_positive(top_k, "top_k");
  if (expert_width < 0)
    fail("model config: expert_width must be positive (or 0 for d_ff), got {}", expert_width);
  if (granularity < 0)
    fail("model config: granularity must be positive (or 0 for none), got {}", granularity);
  if (granularity > 0) {
    if (experts != 0) {
      fail(
          "model config: experts ({}) and granularity ({}) both set; granularity sets experts = "
          "expansion * granularity",
          experts, granularity);
    }
    if (expansion <= 0) fail("model config: expansion must be positive with granularity, got {}", expansion);
    if (ffn_width() % granularity != 0) {
      fail("model config: granularity ({}) must divide d_ff ({})", granularity, ffn_width());
    }
  } else {
    if (expansion != 0) fail("model config: expansion ({}) needs granularity > 0", expansion);
    if (experts <= 0) {
      fail("model config: experts must be positive for an MoE (or set granularity and expansion), got {}",
           experts);
    }
  }
  if (moe_top_k() > moe_experts()) {
    fail("model config: top_k ({}) must not exceed experts ({})", moe_top_k(), moe_experts());
  }
  if (!(capacity_factor > 0.0) || !std::isfinite(capacity_factor)) {
    fail("model config: capacity_factor must be positive, got {}", capacity_factor);
  }
  if (group_size < 0)
    fail("model config: group_size must be positive (or 0 for the batch), got {}", group_size);
  if (!(load_balance_coef >= 0.0))
    fail("model config: load_balance_coef must be >= 0, got {}", load_balance_coef);
  if (!(z_loss_coef >= 0.0)) fail("model config: z_loss_coef must be >= 0, got {}", z_loss_coef);
}

std::string_view to_string(NormKind kind) { return kind == NormKind::layer_norm ? "layer_norm" : "rms_norm"; }
std::string_view to_string(PositionKind kind) { return kind == PositionKind::rope ? "rope" : "learned"; }
std::string_view to_string(ActivationKind kind) { return kind == ActivationKind::gelu ? "gelu" : "swiglu"; }
std::string_view to_string(FfnKind kind) { return kind == FfnKind::dense ? "dense" : "moe"; }
std::string_view to_string(RouterKind kind) {
  return kind == RouterKind::token_choice ? "token_choice" : "expert_choice";
}

}  // namespace lab
