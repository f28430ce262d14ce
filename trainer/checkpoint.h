#pragma once
// Checkpoints of a run: model weights, AdamW state and the trainer's counters, one safetensors file
// per step (RUN/checkpoints/step-00000100.safetensors, core/safetensors.h) that PyTorch reads with
// `safetensors.torch.load_file`:
//   model.<name>                        every parameter and buffer, named as named_parameters() does
//   optimizer.<group>.<index>.step      AdamW's state of the group's index-th parameter: step (I64),
//   optimizer.<group>.<index>.exp_avg   exp_avg, exp_avg_sq (and max_exp_avg_sq with amsgrad)
//   trainer.step, trainer.tokens_seen   I64 scalars
//   trainer.window_sums, window_counts  the open metrics window (see CheckpointState)
//   trainer.router_window               F64, an MoE's router tally of that window (absent before)
//   __metadata__                        {"format": "lab-checkpoint", "format_version": "1"}
// Beside it, step-00000100.json holds the file's CRC-32C and the wall-clock seconds, the only things
// that vary between identical runs: two identical runs (and a resumed one and its uninterrupted twin)
// write byte-identical tensor files. Both are written atomically (core/atomic_file.h), the record
// first, so that a crash at any moment leaves the previous checkpoint loadable. The newest `keep` are
// kept. Checkpoints of the earlier LibTorch-archive format (step-N.pt, step-N.pt.crc32c) still load.

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

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
  std::vector<double> router_window;  // the window's router tally (trainer/router_load.h); empty: none
};

void save_checkpoint(const std::filesystem::path& run_dir, torch::nn::Module& model,
                     torch::optim::AdamW& optimizer, const CheckpointState& state, int keep);

// The newest checkpoint of the run, if any.
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& run_dir);

// Loads into `model` and `optimizer` (already built with the run's config); lab::Error naming the file
// if it is unreadable, corrupt (checksum) or of another model (naming the tensor whose shape differs).
CheckpointState load_checkpoint(const std::filesystem::path& file, torch::nn::Module& model,
                                torch::optim::AdamW& optimizer);

// Loads only the model weights (probes, reports); lab::Error as load_checkpoint.
void load_model_weights(const std::filesystem::path& file, torch::nn::Module& model);

}  // namespace lab
