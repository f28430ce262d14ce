// `lab train --data DIR --out RUN [model flags] [optimisation flags]`: the shared trainer.
#include <cmath>
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "cli/runtime.h"
#include "cli/validators.h"
#include "core/error.h"
#include "models/accounting.h"
#include "probes/probe.h"
#include "trainer/distributed.h"
#include "trainer/launcher.h"
#include "trainer/trainer.h"

namespace lab {

Command add_train_command(CLI::App& app, const GlobalOptions& global) {
  CLI::App* cmd = app.add_subcommand(
      "train",
      "Train a dense or MoE transformer on a dataset; writes RUN/config.json, metrics.jsonl, checkpoints/");
  struct Options {
    TrainConfig train;
    ModelConfig model;
    std::string schedule = "warmup-linear";
    std::string loss_on = "answer";
    std::int64_t probe_examples = 200;
    int nproc = 1;
  };
  auto o = std::make_shared<Options>();
  o->model.vocab_size = 0;   // from the dataset
  o->model.max_seq_len = 0;  // from the dataset's longest example
  TrainConfig& t = o->train;
  const std::string data = "Data and run";
  const std::string opt = "Optimisation";
  cmd->add_option("--data", t.data_dir, "Dataset directory written by `lab gen`")->required()->group(data);
  cmd->add_option("--out", t.out_dir, "Run directory to create (or continue, with --resume)")
      ->required()
      ->group(data);
  cmd->add_flag(
         "--resume", t.resume,
         "Continue the run in --out from its newest checkpoint, with its stored configs, workers and "
         "threads per worker (other flags are ignored); the result is bit-identical to an uninterrupted "
         "run")
      ->group(data);
  cmd->add_option("--device", t.device, "cpu, or cuda with a CUDA build of LibTorch")
      ->capture_default_str()
      ->group(data);
  cmd->add_option("--log-every", t.log_every, "Steps between metrics.jsonl lines")
      ->capture_default_str()
      ->group(data);
  cmd->add_option("--eval-every", t.eval_every,
                  "Steps between held-out losses on the test split (0: at the end)")
      ->capture_default_str()
      ->group(data);
  cmd->add_option("--eval-batches", t.eval_batches, "Held-out batches per evaluation")
      ->capture_default_str()
      ->group(data);
  cmd->add_option(
         "--probe-every", t.probe_every,
         "Steps between probes of held-out accuracy / recall on --probe-examples examples, logged to "
         "metrics.jsonl as probe_* (0: never)")
      ->capture_default_str()
      ->group(data);
  cmd->add_option("--probe-examples", o->probe_examples, "Examples per split in each periodic probe")
      ->capture_default_str()
      ->check(positive_number())
      ->group(data);
  cmd->add_option("--checkpoint-every", t.checkpoint_every,
                  "Steps between checkpoints (0: at the end and on Ctrl-C)")
      ->capture_default_str()
      ->group(data);
  cmd->add_option("--keep-checkpoints", t.keep_checkpoints, "Newest checkpoints kept")
      ->capture_default_str()
      ->group(data);
  cmd->add_option("--nproc", o->nproc,
                  "Data-parallel workers on this machine (c10d Gloo), --threads shared among them; under "
                  "torchrun or srun (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT set) each process joins "
                  "the group instead")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str()
      ->group(data);

  cmd->add_option("--batch-size", t.batch_size, "Examples per optimizer step")
      ->capture_default_str()
      ->group(opt);
  cmd->add_option("--steps", t.steps, "Optimizer steps (0: --epochs passes over the training split)")
      ->capture_default_str()
      ->group(opt);
  cmd->add_option("--epochs", t.epochs, "Passes over the training split when --steps is 0")
      ->capture_default_str()
      ->group(opt);
  cmd->add_option("--lr", t.schedule.peak_lr, "Peak learning rate")->capture_default_str()->group(opt);
  cmd->add_option(
         "--schedule", o->schedule,
         "warmup-linear (Mixture of Parrots: 20% warmup, linear decay), warmup-cosine (fine-grained MoE: "
         "1% warmup, cosine to 10%), or constant")
      ->check(CLI::IsMember({"warmup-linear", "warmup-cosine", "constant"}))
      ->capture_default_str()
      ->group(opt);
  cmd->add_option("--warmup", t.schedule.warmup, "Warmup as a fraction of the steps")
      ->capture_default_str()
      ->group(opt);
  cmd->add_option("--min-lr-ratio", t.schedule.min_lr_ratio, "Final learning rate as a fraction of the peak")
      ->capture_default_str()
      ->group(opt);
  cmd->add_option("--weight-decay", t.weight_decay, "AdamW weight decay (not on norms, biases, embeddings)")
      ->capture_default_str()
      ->group(opt);
  cmd->add_option("--beta1", t.beta1, "AdamW beta1")->capture_default_str()->group(opt);
  cmd->add_option("--beta2", t.beta2, "AdamW beta2")->capture_default_str()->group(opt);
  cmd->add_option("--grad-clip", t.grad_clip, "Clip the global gradient norm (0: off)")
      ->capture_default_str()
      ->group(opt);
  cmd->add_option("--seed", t.seed, "Seed of the initialisation and the data order")
      ->capture_default_str()
      ->group(opt);
  cmd->add_flag("--bf16", t.bf16, "bf16 autocast (fp32 master weights, router in fp32)")->group(opt);
  cmd->add_option("--loss-on", o->loss_on, "answer: train on answer tokens and <eos>; all: on every token")
      ->check(CLI::IsMember({"answer", "all"}))
      ->capture_default_str()
      ->group(opt);
  add_model_flags(cmd, o->model);
  cmd->footer("--vocab and --max-seq-len default to 0: taken from the dataset.");

  return {cmd, [o, &global] {
            o->train.schedule.kind = parse_schedule_kind(o->schedule);
            o->train.loss_on = o->loss_on == "all" ? LossOn::all : LossOn::answer;
            const DistributedEnv env = distributed_env_from_environment();
            if (o->train.resume) {
              // The run continues on the workers it was started with (--nproc is ignored, as every
              // flag but --data and --out is); train() restores the threads per worker. Runs from
              // before the record take --nproc.
              if (auto stored = stored_parallelism(o->train.out_dir)) {
                if (env.world_size == 1 && stored->workers > 1) {
                  run_local_workers(stored->workers, stored->threads, global.quiet);
                  return;
                }
                o->nproc = 1;  // alone, or one of the resumed group's workers
              }
            }
            if (env.world_size > 1 && o->nproc != 1 && o->nproc != env.world_size) {
              fail(
                  "--nproc {} disagrees with the {} workers the environment describes (WORLD_SIZE); drop "
                  "--nproc under torchrun or srun",
                  o->nproc, env.world_size);
            }
            if (env.world_size == 1 && o->nproc > 1) {
              if (!o->train.resume && o->train.batch_size % o->nproc != 0) {
                fail(
                    "--batch-size {} is not divisible by --nproc {}: each worker takes an equal share of "
                    "the global batch",
                    o->train.batch_size, o->nproc);
              }
              const int threads = global.threads > 0 ? global.threads : default_thread_count();
              run_local_workers(o->nproc, std::max(1, threads / o->nproc), global.quiet);
              return;
            }
            TrainResult r = train(o->train, o->model, global.quiet, periodic_probe_hooks(o->probe_examples));
            if (global.quiet || r.rank != 0) return;
            if (r.already_finished) {
              std::cout << fmt::format(
                  "{}: already finished at step {} (loss {:.4f}{}); nothing was changed\n", o->train.out_dir,
                  r.steps, r.train_loss,
                  std::isnan(r.eval_loss) ? "" : fmt::format(", held-out loss {:.4f}", r.eval_loss));
              return;
            }
            ParameterCounts p = count_parameters(r.model);
            std::cout << fmt::format("model: {}, {} parameters, {} active per token\n",
                                     to_string(r.model.ffn), p.total, p.active);
            std::cout << fmt::format(
                "trained {} steps in {:.1f} s: loss {:.4f}{}\n  run: {}\n", r.steps, r.seconds, r.train_loss,
                std::isnan(r.eval_loss) ? "" : fmt::format(", held-out loss {:.4f}", r.eval_loss),
                o->train.out_dir);
          }};
}

}  // namespace lab
