#include "models/model_config_json.h"

#include "core/error.h"

namespace lab {
namespace {

// Finds the enum value whose to_string() is `name` among `values`.
template <typename Enum>
Enum parse_enum(const nlohmann::json& json, const char* field, std::initializer_list<Enum> values,
                const std::string& source) {
  std::string name = json.at(field).get<std::string>();
  for (Enum value : values) {
    if (to_string(value) == name) return value;
  }
  fail("{}: model field '{}' has the unknown value '{}'", source, field, name);
}

}  // namespace

nlohmann::json model_config_to_json(const ModelConfig& c) {
  nlohmann::json j = {{"vocab_size", c.vocab_size},
                      {"max_seq_len", c.max_seq_len},
                      {"d_model", c.d_model},
                      {"layers", c.layers},
                      {"heads", c.heads},
                      {"d_ff", c.d_ff},
                      {"norm", to_string(c.norm)},
                      {"positions", to_string(c.positions)},
                      {"activation", to_string(c.activation)},
                      {"init_scale", c.init_scale},
                      {"ffn", to_string(c.ffn)},
                      {"experts", c.experts},
                      {"top_k", c.top_k},
                      {"expert_width", c.expert_width},
                      {"granularity", c.granularity},
                      {"expansion", c.expansion},
                      {"router", to_string(c.router)},
                      {"capacity_factor", c.capacity_factor},
                      {"group_size", c.group_size},
                      {"load_balance_coef", c.load_balance_coef},
                      {"z_loss_coef", c.z_loss_coef},
                      {"moe_output_norm", c.moe_output_norm}};
  j["resolved"] = {{"d_ff", c.ffn_width()}};
  if (c.is_moe()) {
    j["resolved"]["experts"] = c.moe_experts();
    j["resolved"]["expert_width"] = c.moe_expert_width();
    j["resolved"]["top_k"] = c.moe_top_k();
  }
  return j;
}

ModelConfig model_config_from_json(const nlohmann::json& j, const std::string& source) {
  ModelConfig c;
  try {
    c.vocab_size = j.at("vocab_size").get<int64_t>();
    c.max_seq_len = j.at("max_seq_len").get<int64_t>();
    c.d_model = j.at("d_model").get<int64_t>();
    c.layers = j.at("layers").get<int64_t>();
    c.heads = j.at("heads").get<int64_t>();
    c.d_ff = j.at("d_ff").get<int64_t>();
    c.norm = parse_enum(j, "norm", {NormKind::layer_norm, NormKind::rms_norm}, source);
    c.positions = parse_enum(j, "positions", {PositionKind::rope, PositionKind::learned}, source);
    c.activation = parse_enum(j, "activation", {ActivationKind::gelu, ActivationKind::swiglu}, source);
    c.init_scale = j.at("init_scale").get<double>();
    c.ffn = parse_enum(j, "ffn", {FfnKind::dense, FfnKind::moe}, source);
    c.experts = j.at("experts").get<int64_t>();
    c.top_k = j.at("top_k").get<int64_t>();
    c.expert_width = j.at("expert_width").get<int64_t>();
    c.granularity = j.at("granularity").get<int64_t>();
    c.expansion = j.at("expansion").get<int64_t>();
    c.router = parse_enum(j, "router", {RouterKind::token_choice, RouterKind::expert_choice}, source);
    c.capacity_factor = j.at("capacity_factor").get<double>();
    c.group_size = j.at("group_size").get<int64_t>();
    c.load_balance_coef = j.at("load_balance_coef").get<double>();
    c.z_loss_coef = j.at("z_loss_coef").get<double>();
    c.moe_output_norm = j.at("moe_output_norm").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    fail("{}: the model config is incomplete or has a wrong type ({})", source, e.what());
  }
  return c;
}

}  // namespace lab
