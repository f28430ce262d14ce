#include "models/model_config.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace lab {

std::int64_t ModelConfig::moe_experts() const { return granularity > 0 ? expansion * granularity : experts; }

std::int64_t ModelConfig::moe_expert_width() const {
  if (expert_width > 0) return expert_width;
  return granularity > 0 ? ffn_width() / granularity : ffn_width();
}

std::int64_t ModelConfig::moe_top_k() const { return granularity > 0 ? top_k * granularity : top_k; }

std::int64_t ModelConfig::expert_capacity(std::int64_t group_tokens) const {
  const double wanted = capacity_factor * static_cast<double>(moe_top_k()) *
                        static_cast<double>(group_tokens) / static_cast<double>(moe_experts());
  const auto capacity = static_cast<std::int64_t>(std::ceil(wanted));
  return std::clamp<std::int64_t>(capacity, 1, group_tokens);
}

void ModelConfig::validate() const {
  // The ranges of the field list; a dense model ignores the MoE fields.
  visit_fields(*this, [this]<typename T>(const T& value, const Field& field) {
    if constexpr (FieldNumber<T>) {
      if (field.group() == kMoeGroup && !is_moe()) return;
      if (std::string e = field.range_error(value); !e.empty()) fail("model config: {} {}", field.name(), e);
    }
  });
  if (d_model % heads != 0) fail("model config: heads ({}) must divide d_model ({})", heads, d_model);
  if (positions == PositionKind::rope && (d_model / heads) % 2 != 0) {
    fail("model config: rope positions need an even head size, d_model / heads = {}", d_model / heads);
  }
  if (ffn == FfnKind::dense) return;

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
}

}  // namespace lab
