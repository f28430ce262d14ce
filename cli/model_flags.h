#pragma once
// The command-line flags of a ModelConfig, shared by every subcommand that builds or describes a model
// (`lab model-info`, `lab train`). Flags only fill the struct; ModelConfig::validate() judges it.

#include <CLI/CLI.hpp>

#include "models/model_config.h"

namespace lab {

// Adds --vocab, --d-model, --layers, ..., --experts, --top-k, --granularity, ... to `app`, bound to
// `config` (whose current values are shown as defaults). Setting --experts or --granularity makes
// the FFN a Mixture of Experts; without them the model is dense.
void add_model_flags(CLI::App* app, ModelConfig& config);

}  // namespace lab
