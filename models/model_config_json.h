#pragma once
// ModelConfig <-> JSON, field for field, so a run directory can rebuild its model exactly (resume,
// probes, reports). The raw fields round-trip; the resolved MoE sizes are added under "resolved" for
// readers and ignored when reading back.

#include <nlohmann/json.hpp>

#include "models/model_config.h"

namespace lab {

nlohmann::json model_config_to_json(const ModelConfig& config);

// Throws lab::Error naming `source` and the field for a missing field or an unknown name.
ModelConfig model_config_from_json(const nlohmann::json& json, const std::string& source);

}  // namespace lab
