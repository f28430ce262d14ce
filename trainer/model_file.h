#pragma once
// A model file: a run's weights alone, with the config that rebuilds the model, in one safetensors
// file (core/safetensors.h) that PyTorch reads (`python/lab_model.py`, `safetensors.torch.load_file`):
//   <name>          every parameter and buffer, named as named_parameters() does (token_embedding.weight,
//                   blocks.0.attention.qkv.weight, blocks.0.moe.w1, ...), fp32 as trained
//   __metadata__    {"format": "lab-model", "format_version": "1", "config": the run's config.json text}
// `lab train` writes RUN/model.safetensors when a run finishes; `lab export-model` writes one from any
// checkpoint. The writer is deterministic: the same weights and config give the same bytes.

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include <torch/torch.h>

#include "models/transformer.h"

namespace lab {

// The file's bytes.
std::string model_file_bytes(torch::nn::Module& model, const nlohmann::json& run_config);

// Writes `file` atomically (the old one or the complete new one, never a torn one).
void write_model_file(const std::filesystem::path& file, torch::nn::Module& model,
                      const nlohmann::json& run_config);

// `lab export-model`: the weights of the run's `checkpoint` (its newest when empty) written to `out`.
// lab::Error naming the run, the checkpoint or the output directory when one is missing or corrupt.
void export_model(const std::filesystem::path& run_dir, const std::filesystem::path& checkpoint,
                  const std::filesystem::path& out);

struct ModelFile {
  nlohmann::json run_config;   // the run's config.json
  Transformer model{nullptr};  // rebuilt from it on the CPU, with the file's weights
};

// Reads a model file back; lab::Error naming the file when it is not one or is damaged.
ModelFile load_model_file(const std::filesystem::path& file);

}  // namespace lab
