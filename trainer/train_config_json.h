#pragma once
// TrainConfig <-> JSON, the "train" object of a run's config.json, so that --resume continues with
// exactly the settings the run started with.

#include <string>

#include <nlohmann/json.hpp>

#include "trainer/train_config.h"

namespace lab {

// Every field but out_dir and resume, which belong to the invocation, not to the run.
nlohmann::json train_config_to_json(const TrainConfig& config);

// The stored config of a run being resumed; out_dir and resume come from `flags` (the command line).
// lab::Error naming `source` for a missing field or a wrong type.
TrainConfig train_config_from_json(const nlohmann::json& json, const TrainConfig& flags,
                                   const std::string& source);

}  // namespace lab
