#pragma once
// What a run directory holds, for tests that compare trained runs: its logged losses and its model
// (resume, data parallelism); the tiny model those runs train.

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/model_config_json.h"
#include "models/transformer.h"
#include "trainer/checkpoint.h"

namespace lab::test {

// Every "loss" logged in a run's metrics.jsonl, in order.
inline std::vector<double> logged_losses(const std::filesystem::path& run) {
  std::ifstream in(run / "metrics.jsonl");
  std::vector<double> losses;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) losses.push_back(j.at("loss").get<double>());
  }
  return losses;
}

// The last loss logged in a run's metrics.jsonl, -1 if none.
inline double final_loss(const std::filesystem::path& run) {
  const std::vector<double> losses = logged_losses(run);
  return losses.empty() ? -1 : losses.back();
}

// A model small enough to train in a test in seconds: `lab train` flags.
inline const std::vector<std::string> kTinyModel = {"--d-model", "64", "--layers", "2", "--heads", "2"};

// Whether two models hold the same parameters, bit for bit.
inline bool same_weights(Transformer& a, Transformer& b) {
  auto pa = a->named_parameters(), pb = b->named_parameters();
  if (pa.size() != pb.size()) return false;
  for (const auto& item : pa) {
    if (!torch::equal(item.value(), pb[item.key()])) return false;
  }
  return true;
}

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
