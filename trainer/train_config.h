#pragma once
// Everything `lab train` needs besides the model: one flat struct with defaults from the Mixture of
// Parrots setup (AdamW, weight decay 0.1, lr 1e-3, 20% warmup then linear decay).

#include <cstdint>
#include <string>

#include "core/fields.h"
#include "trainer/lr_schedule.h"

namespace lab {

enum class LossOn { answer, all };  // train on the answer tokens (and <eos>), or on every token
inline constexpr EnumName<LossOn> kLossOnNames[] = {{"answer", LossOn::answer}, {"all", LossOn::all}};
constexpr std::span<const EnumName<LossOn>> enum_names(LossOn) { return kLossOnNames; }

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

  bool operator==(const TrainConfig&) const = default;
};

// The CLI help groups of the fields.
inline constexpr std::string_view kRunGroup = "Data and run";
inline constexpr std::string_view kOptimisationGroup = "Optimisation";

// Every training setting, once (core/fields.h): its key in config.json and presets, its flag, range
// and help. The run's location (data_dir, out_dir, resume) is not a setting: `lab train` and the
// runner set it, config.json records data_dir apart.
template <typename Config, typename Visit>
requires std::same_as<std::remove_const_t<Config>, TrainConfig>
void visit_fields(Config& c, Visit&& visit) {
  const auto run = [](std::string_view name, std::string_view help) {
    return Field(name, help).group(kRunGroup);
  };
  const auto opt = [](std::string_view name, std::string_view help) {
    return Field(name, help).group(kOptimisationGroup);
  };
  visit(c.device, run("device", "cpu, or cuda with a CUDA build of LibTorch"));
  visit(c.log_every, run("log_every", "Steps between metrics.jsonl lines").at_least(1));
  visit(c.eval_every,
        run("eval_every", "Steps between held-out losses on the test split (0: at the end)").at_least(0));
  visit(c.eval_batches, run("eval_batches", "Held-out batches per evaluation").at_least(1));
  visit(c.probe_every, run("probe_every",
                           "Steps between probes of held-out accuracy / recall on --probe-examples examples, "
                           "logged to metrics.jsonl as probe_* (0: never)")
                           .at_least(0)
                           .optional_in_json());  // runs from before periodic probes lack it
  visit(c.checkpoint_every,
        run("checkpoint_every", "Steps between checkpoints (0: at the end and on Ctrl-C)").at_least(0));
  visit(c.keep_checkpoints, run("keep_checkpoints", "Newest checkpoints kept").at_least(1).at_most(1000));

  visit(c.batch_size, opt("batch_size", "Examples per optimizer step").at_least(1));
  visit(c.steps, opt("steps", "Optimizer steps (0: --epochs passes over the training split)").at_least(0));
  visit(c.epochs, opt("epochs", "Passes over the training split when --steps is 0").positive());
  visit(c.schedule.peak_lr, opt("lr", "Peak learning rate").positive());
  visit(c.schedule.kind, opt("schedule",
                             "warmup-linear (Mixture of Parrots: 20% warmup, linear decay), warmup-cosine "
                             "(fine-grained MoE: 1% warmup, cosine to 10%), or constant"));
  visit(c.schedule.warmup, opt("warmup", "Warmup as a fraction of the steps").at_least(0).below(1));
  visit(c.schedule.min_lr_ratio,
        opt("min_lr_ratio", "Final learning rate as a fraction of the peak").at_least(0).at_most(1));
  visit(c.weight_decay,
        opt("weight_decay", "AdamW weight decay (not on norms, biases, embeddings)").at_least(0));
  visit(c.beta1, opt("beta1", "AdamW beta1").at_least(0).below(1));
  visit(c.beta2, opt("beta2", "AdamW beta2").at_least(0).below(1));
  visit(c.grad_clip, opt("grad_clip", "Clip the global gradient norm (0: off)").at_least(0));
  visit(c.seed,
        opt("seed", "Seed of the initialisation and the data order").not_in_presets());  // presets: seeds
  visit(c.bf16, opt("bf16", "bf16 autocast (fp32 master weights, router in fp32)"));
  visit(c.loss_on, opt("loss_on", "answer: train on answer tokens and <eos>; all: on every token"));
}

}  // namespace lab
