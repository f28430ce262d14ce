#include "models/model_config_json.h"

#include "core/field_json.h"
#include "core/run_files.h"

namespace lab {

nlohmann::json model_config_to_json(const ModelConfig& c) {
  nlohmann::json j = fields_to_json(c);
  j[run_files::config::kModelResolved] = {{"d_ff", c.ffn_width()}};
  if (c.is_moe()) {
    j[run_files::config::kModelResolved]["experts"] = c.moe_experts();
    j[run_files::config::kModelResolved]["expert_width"] = c.moe_expert_width();
    j[run_files::config::kModelResolved]["top_k"] = c.moe_top_k();
  }
  return j;
}

ModelConfig model_config_from_json(const nlohmann::json& j, const std::string& source) {
  ModelConfig c;
  fields_from_json(j, c, source, "model");
  return c;
}

}  // namespace lab
