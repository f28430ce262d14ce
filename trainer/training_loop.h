#pragma once
// The step loop of train() (trainer/trainer.h) over a run that is open: the optimizer step, the
// metrics window, and what runs between steps. Internal to the trainer.

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include <torch/torch.h>

#include "core/tensorboard.h"
#include "generators/dataset_reader.h"
#include "models/transformer.h"
#include "trainer/batcher.h"
#include "trainer/checkpoint.h"
#include "trainer/distributed.h"
#include "trainer/train_config.h"
#include "trainer/trainer.h"

namespace lab {

// What a worker trains, opened before the first step.
struct OpenRun {
  std::optional<Dataset> data;
  Transformer model{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer;
  CheckpointState state;
};

// One step's losses, this worker's shares of them: they add up over the workers.
struct StepLosses {
  std::array<double, 4> values{};  // loss, aux_loss, load_balance_loss, z_loss
  std::vector<double> router;      // an MoE's router tally of the step (trainer/router_load.h); empty if none
};

// The metrics window: the sums since the last metrics.jsonl line (this worker's share of the losses),
// restored from and saved to the checkpoint so that a resumed run logs what an uninterrupted one would.
class MetricsWindow {
 public:
  struct Means {
    std::array<double, 4> losses;  // as StepLosses, averaged over the window's steps and every worker
    double tokens_per_s;
    std::vector<double> router;  // the window's router tally, summed over every worker
  };

  // `router_size`: the model's router tally length (router_tally_size()), the same on every worker.
  MetricsWindow(const CheckpointState& state, bool main_rank, std::size_t router_size)
      : router_(router_size, 0.0),
        steps_(state.window_steps),
        tokens_(state.window_tokens),
        start_(std::chrono::steady_clock::now() -
               std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                   std::chrono::duration<double>(state.window_seconds))) {
    if (!main_rank) return;  // the stored sums are every worker's together
    sums_ = state.window_sums;
    if (state.router_window.size() == router_size) router_ = state.router_window;
  }

  void add(const StepLosses& step, std::int64_t input_tokens) {
    for (std::size_t i = 0; i < sums_.size(); ++i) sums_[i] += step.values[i];
    for (std::size_t i = 0; i < step.router.size() && i < router_.size(); ++i) router_[i] += step.router[i];
    tokens_ += input_tokens;
    ++steps_;
  }

  // Every worker calls it (the sums are over the workers); the window restarts.
  Means close(Distributed& dist) {
    const std::vector<double> window = dist.sum({sums_.begin(), sums_.end()});
    Means means{};
    for (std::size_t i = 0; i < sums_.size(); ++i) means.losses[i] = window[i] / steps_;
    means.tokens_per_s = tokens_ / std::max(seconds(), 1e-9);
    if (!router_.empty()) means.router = dist.sum(router_);
    sums_ = {};
    std::fill(router_.begin(), router_.end(), 0.0);
    steps_ = tokens_ = 0;
    restart_clock();
    return means;
  }

  // Every worker calls it; rank 0's `state` receives the open window, summed over the workers.
  void save(Distributed& dist, CheckpointState& state) const {
    const std::vector<double> sums = dist.sum({sums_.begin(), sums_.end()});
    const std::vector<double> router = router_.empty() ? router_ : dist.sum(router_);
    if (!dist.is_main()) return;
    std::copy(sums.begin(), sums.end(), state.window_sums.begin());
    state.window_steps = steps_;
    state.window_tokens = tokens_;
    state.window_seconds = seconds();
    state.router_window = router;
  }

  void restart_clock() { start_ = std::chrono::steady_clock::now(); }  // tokens/s counts training only

 private:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  std::array<double, 4> sums_{};
  std::vector<double> router_;
  std::int64_t steps_;
  std::int64_t tokens_;
  std::chrono::steady_clock::time_point start_;
};

// One worker's training of an opened run: the optimizer step, and what runs between steps (metrics
// lines, held-out evaluation, probes, checkpoints). Every worker calls every method in the same order:
// each holds collectives.
class TrainingLoop {
 public:
  TrainingLoop(const TrainConfig& c, torch::Device device, Distributed& dist, OpenRun& run,
               const Batcher& batcher, const Batcher* eval_batcher, std::int64_t total_steps,
               const TrainHooks& hooks, bool quiet);

  std::int64_t steps_done() const { return state_.step; }
  double last_loss() const { return last_loss_; }

  // One optimizer step on the global batch of the next step; returns the signal that reached any
  // worker meanwhile (0 if none). Throws lab::Error on a loss or gradient that is not finite.
  int step();

  // A metrics.jsonl line of the window's means since the last one.
  void log_window();

  // The held-out loss, logged; NaN without a test split.
  double log_eval();

  // The hooks' probe, logged. Every rank probes and rank 0 logs: a rank that went on would wait for
  // rank 0 in the next collective, and a probe longer than LAB_DIST_TIMEOUT_S would fail the run.
  void probe();

  void checkpoint();

  // Saves a checkpoint and stops with lab::Interrupted.
  [[noreturn]] void stop(int signal);

 private:
  // The global batch of `step`; every rank knows it and trains on its slice.
  const std::vector<std::uint64_t>& batch_of(std::int64_t step);

  // Forward and backward over this rank's slice, normalised by the global count of loss tokens, so
  // that the summed gradients are the single-worker gradient. On the CPU with several threads the
  // slice is split into parts trained side by side, one per thread (trainer/batch_parts.h). The routers'
  // auxiliary losses are per-part losses (each over the part's own tokens) averaged over the parts
  // and ranks, so with several workers or threads an MoE's load-balancing and z-losses are not
  // exactly the single thread's.
  StepLosses backward(const std::vector<std::uint64_t>& local, const BatchTokens& global_tokens);

  void log(const nlohmann::json& line);

  // Wall time spent training, carried across resumes by the checkpoints.
  double training_seconds() const;

  const TrainConfig& c_;
  const torch::Device device_;
  Distributed& dist_;
  OpenRun& run_;
  CheckpointState& state_;
  const Batcher& batcher_;
  const Batcher* eval_batcher_;
  const std::int64_t total_steps_;
  const TrainHooks& hooks_;
  const std::filesystem::path run_dir_;
  const bool plain_log_;
  std::vector<torch::Tensor> parameters_;
  MetricsWindow window_;
  std::ofstream metrics_;
  std::optional<TensorBoardWriter> tensorboard_;  // rank 0: RUN/tb/, every scalar of metrics_
  std::int64_t epoch_in_plan_ = -1;
  std::vector<std::vector<std::uint64_t>> plan_;
  double lr_ = 0, grad_norm_ = 0, last_loss_ = 0;
  const double seconds_before_;
  const std::chrono::steady_clock::time_point loop_start_ = std::chrono::steady_clock::now();
};

}  // namespace lab
