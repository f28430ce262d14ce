#pragma once
// The one trainer every model goes through: `lab train` and the experiment runner call train().
//
// A run directory holds (core/run_files.h):
//   config.json     the resolved model and training configs, the dataset's manifest checksum, the lab
//                   version, the workers and threads it ran on: enough to rebuild the model and
//                   continue or probe the run
//   metrics.jsonl   one JSON object per logged step (step, tokens, loss, aux losses, lr, grad norm,
//                   tokens/s) and per evaluation (held-out loss)
//   checkpoints/    step-NNNNNNNN.safetensors and its .json record, the newest few (trainer/checkpoint.h)
//   model.safetensors  the final weights with config.json, for PyTorch (trainer/model_file.h)

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "generators/dataset_reader.h"
#include "models/model_config.h"
#include "models/transformer.h"
#include "trainer/run_directory.h"
#include "trainer/train_config.h"

namespace lab {

struct TrainResult {
  std::int64_t steps = 0;         // optimizer steps completed
  double train_loss = 0;          // mean loss of the last logged window
  double eval_loss = 0;           // held-out loss at the end (NaN without a test split)
  double seconds = 0;             // wall time of this invocation
  ModelConfig model;              // the model trained, vocabulary and length resolved from the data
  int rank = 0;                   // this worker in data-parallel training (trainer/distributed.h); 0 alone
  int world_size = 1;             // workers that trained together
  bool already_finished = false;  // --resume of a finished run: nothing was trained or written
};

// Throws lab::Error unless the global batch splits evenly over `workers` data-parallel workers.
void check_batch_divides(std::int64_t batch_size, int workers);

// AdamW with weight decay on matrices only: norms, biases and embeddings are not decayed. Group 0 is
// decayed with config.weight_decay, group 1 not.
std::unique_ptr<torch::optim::AdamW> make_optimizer(Transformer& model, const TrainConfig& config);

// What the trainer calls back into; the trainer itself knows nothing about tasks.
struct TrainHooks {
  // Every config.probe_every steps and at the end, on rank 0: measures the model (e.g. held-out
  // accuracy, probes/probe.h) and returns flat {name: number} metrics, logged to metrics.jsonl as
  // "probe_<name>". The model is in training mode before and must be after.
  std::function<nlohmann::json(Transformer& model, const Dataset& data)> probe;
};

// Trains and writes the run directory. `model` fields vocab_size and max_seq_len set to 0 are taken
// from the dataset. With config.resume, the run's stored configs are used and the flags ignored, and
// the stored threads per worker are used for the call (a warning names a different worker count).
// Throws lab::Error for bad input (missing dataset, vocabulary too large for the model, a run
// directory that exists without --resume, a NaN loss); lab::Interrupted after saving on Ctrl-C.
// Data-parallel when the environment describes a group of workers (trainer/distributed.h): each rank
// calls train() with the same arguments and only rank 0 writes the run directory.
TrainResult train(const TrainConfig& config, ModelConfig model, bool quiet, const TrainHooks& hooks = {});

}  // namespace lab
