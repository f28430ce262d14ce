#pragma once
// Checkpoints of a run: model weights, optimizer state and the step, in one LibTorch archive per step
// (RUN/checkpoints/step-00000100.pt), written atomically (core/atomic_file.h) so that a crash at any
// moment leaves the previous checkpoint loadable. The newest `keep` are kept.

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>

#include <torch/torch.h>

namespace lab {

struct CheckpointState {
  std::int64_t step = 0;         // optimizer steps completed
  std::int64_t tokens_seen = 0;  // non-padding input tokens trained on so far
  double seconds = 0;            // wall time spent training so far, over every invocation

  // The metrics window open at `step` (steps since the last metrics.jsonl line), so that a resumed
  // run logs the same means as an uninterrupted one: loss, aux, load-balance and z-loss sums over
  // every worker, its steps, input tokens and wall seconds. Zero in checkpoints written before.
  std::array<double, 4> window_sums{};
  std::int64_t window_steps = 0;
  std::int64_t window_tokens = 0;
  double window_seconds = 0;
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
