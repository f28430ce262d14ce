#pragma once
// Everything `lab train` needs besides the model: one flat struct with defaults from the Mixture of
// Parrots setup (AdamW, weight decay 0.1, lr 1e-3, 20% warmup then linear decay).

#include <cstdint>
#include <string>

#include "trainer/lr_schedule.h"

namespace lab {

enum class LossOn { answer, all };  // train on the answer tokens (and <eos>), or on every token

struct TrainConfig {
  std::string data_dir;               // dataset directory written by `lab gen`
  std::string out_dir;                // run directory: config, metrics.jsonl, checkpoints
  std::int64_t batch_size = 64;       // examples per optimizer step
  std::int64_t steps = 0;             // optimizer steps; 0 = epochs x batches per epoch
  double epochs = 1.0;                // passes over the training split when steps == 0
  ScheduleConfig schedule;            // learning rate over the steps
  double weight_decay = 0.1;          // AdamW, not applied to norms, biases or embeddings
  double beta1 = 0.9;                 // AdamW first-moment decay
  double beta2 = 0.999;               // AdamW second-moment decay
  double grad_clip = 1.0;             // global gradient-norm clip; 0 = off
  std::uint64_t seed = 0;             // initialisation and data order
  bool bf16 = false;                  // bf16 autocast, fp32 master weights and router
  LossOn loss_on = LossOn::answer;    // answer tokens (+ <eos>) or every token
  std::int64_t log_every = 10;        // steps between metrics.jsonl lines
  std::int64_t eval_every = 0;        // steps between held-out losses; 0 = only at the end
  std::int64_t eval_batches = 8;      // held-out batches per evaluation
  std::int64_t probe_every = 0;       // steps between probes (TrainHooks::probe); 0 = never
  std::int64_t checkpoint_every = 0;  // steps between checkpoints; 0 = only at the end (and on Ctrl-C)
  int keep_checkpoints = 2;           // newest checkpoints kept
  bool resume = false;                // continue the run in out_dir from its newest checkpoint
  std::string device = "cpu";         // "cpu" or "cuda" (with a CUDA build of LibTorch)

  void validate() const;  // lab::Error naming the flag
};

}  // namespace lab
