#pragma once
// Checkpoints of a run: model weights, optimizer state and the step, in one LibTorch archive per step
// (RUN/checkpoints/step-00000100.pt), written atomically (core/atomic_file.h) so that a crash at any
// moment leaves the previous checkpoint loadable. The newest `keep` are kept.

#include <cstdint>
#include <filesystem>
#include <optional>

#include <torch/torch.h>

namespace lab {

struct CheckpointState {
  std::int64_t step = 0;         // optimizer steps completed
  std::int64_t tokens_seen = 0;  // non-padding input tokens trained on so far
  double seconds = 0;            // wall time spent training so far, over every invocation
};

void save_checkpoint(const std::filesystem::path& run_dir, torch::nn::Module& model,
                     torch::optim::Optimizer& optimizer, const CheckpointState& state, int keep);

// The newest checkpoint of the run, if any.
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& run_dir);

// Loads into `model` and `optimizer` (already built with the run's config); lab::Error naming the file
// if it is unreadable.
CheckpointState load_checkpoint(const std::filesystem::path& file, torch::nn::Module& model,
                                torch::optim::Optimizer& optimizer);

// Loads only the model weights (probes, reports); lab::Error naming the file if it is unreadable.
void load_model_weights(const std::filesystem::path& file, torch::nn::Module& model);

}  // namespace lab
