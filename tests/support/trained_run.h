#pragma once
// The model a run directory holds, for tests that compare trained weights (resume, data parallelism).

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/model_config_json.h"
#include "models/transformer.h"
#include "trainer/checkpoint.h"

namespace lab::test {

// The model of a run's newest checkpoint, rebuilt from its config.json; a test failure if there is
// no checkpoint (the model then keeps its initial weights).
inline Transformer load_run(const std::filesystem::path& run) {
  std::ifstream in(run / "config.json");
  const nlohmann::json config = nlohmann::json::parse(in);
  Transformer model(model_config_from_json(config.at("model"), "config.json"));
  auto latest = latest_checkpoint(run);
  EXPECT_TRUE(latest.has_value()) << run;
  if (latest) load_model_weights(*latest, *model);
  return model;
}

}  // namespace lab::test
