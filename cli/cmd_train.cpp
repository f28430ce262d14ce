// `lab train --data DIR --out RUN [model flags] [optimisation flags]`: the shared trainer.
#include <cmath>
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/field_flags.h"
#include "cli/model_flags.h"
#include "cli/runtime.h"
#include "cli/validators.h"
#include "core/error.h"
#include "core/run_files.h"
#include "models/accounting.h"
#include "probes/probe.h"
#include "trainer/distributed.h"
#include "trainer/launcher.h"
#include "trainer/trainer.h"

namespace lab {
namespace {

// --resume: "always" continues the run in `out_dir` (an error if there is none); "auto" continues it
// if `out_dir` holds one and starts it otherwise, so that a requeued or restarted job repeats its
// command line unchanged.
bool resume_requested(const std::string& mode, const std::string& out_dir) {
  if (mode.empty()) return false;
  if (mode == "always") return true;
  if (mode == "auto") return std::filesystem::exists(std::filesystem::path(out_dir) / run_files::kConfig);
  fail(
      "--resume {}: expected no value (continue the run in --out) or auto (continue it if there is one, "
      "start it otherwise)",
      mode);
}

}  // namespace

Command add_train_command(CLI::App& app, const GlobalOptions& global) {
  CLI::App* cmd = app.add_subcommand(
      "train",
      "Train a dense or MoE transformer on a dataset; writes RUN/config.json, metrics.jsonl, checkpoints/, "
      "model.safetensors");
  struct Options {
    TrainConfig train;
    ModelConfig model;
    std::int64_t probe_examples = 200;
    int nproc = 1;
    std::string resume;  // "" (a new run), "always" (--resume) or "auto"
  };
  auto o = std::make_shared<Options>();
  o->model.vocab_size = 0;   // from the dataset
  o->model.max_seq_len = 0;  // from the dataset's longest example
  TrainConfig& t = o->train;
  const std::string data(kRunGroup);
  cmd->add_option("--data", t.data_dir, "Dataset directory written by `lab gen`")->required()->group(data);
  cmd->add_option("--out", t.out_dir, "Run directory to create (or continue, with --resume)")
      ->required()
      ->group(data);
  cmd->add_option("--resume", o->resume,
                  "Continue the run in --out from its newest checkpoint, with its stored configs, workers "
                  "and threads per worker (other flags are ignored); the result is bit-identical to an "
                  "uninterrupted run. `--resume auto`: continue if --out holds a run, start it otherwise "
                  "(one command line for torchrun --max-restarts and Slurm --requeue)")
      ->expected(0, 1)
      ->default_str("always")
      ->option_text("[auto]")
      ->group(data);
  add_field_flags(cmd, t, data);  // the training settings (TrainConfig's field list)
  cmd->add_option("--probe-examples", o->probe_examples, "Examples per split in each periodic probe")
      ->capture_default_str()
      ->check(positive_number())
      ->group(data);
  cmd->add_option("--nproc", o->nproc,
                  "Data-parallel workers on this machine (c10d Gloo), --threads shared among them; under "
                  "torchrun or srun (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT set) each process joins "
                  "the group instead")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str()
      ->group(data);

  add_model_flags(cmd, o->model);
  cmd->footer("--vocab and --max-seq-len default to 0: taken from the dataset.");

  return {cmd, [o, &global] {
            o->train.resume = resume_requested(o->resume, o->train.out_dir);
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
              // Checked here too: once, before the workers start and each fails alike.
              if (!o->train.resume) check_batch_divides(o->train.batch_size, o->nproc);
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
