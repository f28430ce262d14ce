// `lab run PRESET`: the one-command experiment (experiments/runner.h).
#include <algorithm>
#include <iostream>
#include <optional>
#include <sstream>
#include <tuple>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/runtime.h"
#include "cli/validators.h"
#include "core/environment.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "experiments/runner.h"
#include "results/report.h"

namespace lab {
namespace {

// --shard i/n, or auto: this task of a Slurm job array (sbatch --array=0-7 runs 8 shards).
std::pair<int, int> parse_shard(const std::string& text) {
  if (text == "auto") {
    constexpr long kMaxTasks = 1'000'000;
    const auto id = env_integer("SLURM_ARRAY_TASK_ID", 0, kMaxTasks);
    const auto count = env_integer("SLURM_ARRAY_TASK_COUNT", 1, kMaxTasks);
    if (!id || !count) {
      fail(
          "--shard auto: SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT are not set: this is not a task of a "
          "Slurm job array (sbatch --array=0-N); pass --shard i/n instead");
    }
    // --array=MIN-MAX:STEP numbers its tasks MIN, MIN + STEP, ...
    const long step = env_integer("SLURM_ARRAY_TASK_STEP", 1, kMaxTasks).value_or(1);
    const long min = env_integer("SLURM_ARRAY_TASK_MIN", 0, kMaxTasks).value_or(0);
    const long offset = *id - min;
    const long index = offset % step == 0 ? offset / step : -1;
    if (index < 0 || index >= *count) {
      fail(
          "--shard auto: array task {} of {} (SLURM_ARRAY_TASK_MIN {}, _STEP {}) is not one of the array's "
          "0..{}: use an array such as --array=0-{}, or pass --shard i/n",
          *id, *count, min, step, *count - 1, *count - 1);
    }
    return {static_cast<int>(index), static_cast<int>(*count)};
  }
  int i = -1, n = 0;
  char slash = 0;
  std::istringstream in(text);
  if (!(in >> i >> slash >> n) || slash != '/' || !in.eof() || n < 1 || i < 0 || i >= n) {
    fail("--shard {}: expected i/n with 0 <= i < n, e.g. 0/4, or auto (in a Slurm job array)", text);
  }
  return {i, n};
}

}  // namespace

Command add_run_command(CLI::App& app, const GlobalOptions& global) {
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Run an experiment preset: generate its datasets, train every run of its grid, probe them, and write "
      "results.sqlite, results.csv and plots (finished runs are skipped, interrupted ones resumed)");
  struct Options {
    std::string preset;
    std::string out;
    std::string shard;
    std::vector<std::string> overrides;
    bool dry_run = false;
    bool list = false;
    bool no_report = false;
    RunnerOptions runner;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("PRESET", o->preset, "A shipped preset's name (see --list) or a preset file (.toml)");
  cmd->add_option(
      "KEY=VALUE", o->overrides,
      "Change the preset without editing it: train.steps=500 seeds=[0] models.0.d_model=[32,64] "
      "(values are TOML; a number picks a [[models]] or [[tasks]] entry). OUT/preset.resolved.toml "
      "records the preset as run");
  cmd->add_option("--out", o->out, "Output directory (default: runs/<preset name>)")->option_text("DIR");
  cmd->add_flag("--dry-run", o->dry_run,
                "List the runs with their parameters and estimated cost; run nothing");
  cmd->add_option(
         "--shard", o->shard,
         "Run every n-th run starting at i (0-based), e.g. --shard 2/8 in the third of 8 batch jobs; "
         "auto: i and n from a Slurm job array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT)")
      ->option_text("i/n|auto");
  cmd->add_flag("--list", o->list, "List the shipped presets and exit");
  cmd->add_flag("--no-report", o->no_report,
                "Skip the results and plots at the end (`lab report` draws them)");
  cmd->add_option("--probe-batch-size", o->runner.probe.decode.batch_size,
                  "Prompts decoded together by the probes")
      ->capture_default_str()
      ->check(positive_number());
  cmd->add_option("--flops-per-second", o->runner.flops_per_second,
                  "Training throughput assumed by the --dry-run time estimates")
      ->capture_default_str()
      ->check(positive_real());
  cmd->footer(
      "Presets are TOML files (experiments/presets/*.toml): a grid over tasks, data sizes, model families, "
      "seeds "
      "and training budgets; see experiments/preset.h or any shipped preset for the keys.");

  return {cmd, [o, &global] {
            if (o->list) {
              for (const auto& file : shipped_presets()) {
                Preset p = load_preset(file);
                std::cout << fmt::format("{:<20} {:>4} runs  {}\n", p.name, p.runs.size(), p.description);
              }
              return;
            }
            if (o->preset.empty())
              fail("PRESET is required: a shipped preset's name (`lab run --list`) or a .toml file");
            Preset preset = load_preset(find_preset(o->preset), o->overrides);
            RunnerOptions& r = o->runner;
            r.out =
                o->out.empty() ? std::filesystem::path("runs") / preset.name : std::filesystem::path(o->out);
            r.dry_run = o->dry_run;
            r.quiet = global.quiet;
            r.report = !o->no_report;
            r.threads = global.threads > 0 ? global.threads : default_thread_count();
            if (!o->shard.empty()) std::tie(r.shard_index, r.shard_count) = parse_shard(o->shard);
            install_interrupt_handlers();
            RunnerSummary summary = run_preset(preset, r);
            if (r.dry_run) return;
            if (!global.quiet) {
              std::cout << fmt::format("{}: {} runs finished now, {} already finished, {} failed -> {}\n",
                                       preset.name, summary.finished, summary.skipped,
                                       summary.failures.size(), r.out.string());
              if (r.report) {
                for (const std::string& line : preset.notes) std::cout << line << "\n";
              }
            }
            if (!summary.failures.empty()) {
              std::string list;
              for (const std::string& f : summary.failures) list += "\n  " + f;
              fail("{} of the preset's runs failed (the others are in {}):{}", summary.failures.size(),
                   r.out.string(), list);
            }
          }};
}

Command add_report_command(CLI::App& app, const GlobalOptions& global) {
  CLI::App* cmd = app.add_subcommand(
      "report",
      "Collect the probed runs under DIR into DIR/results.sqlite and results.csv, print a table and draw "
      "accuracy-versus-parameters, loss, accuracy-over-training and router-load plots into DIR/plots/");
  struct Options {
    std::string dir;
    bool no_plots = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("DIR", o->dir, "A `lab run` output directory, or any directory holding run directories")
      ->required();
  cmd->add_flag("--no-plots", o->no_plots, "Only the database, CSV and table");
  return {cmd, [o, &global] {
            ReportOptions options;
            options.plots = !o->no_plots;
            options.quiet = global.quiet;
            build_report(o->dir, options);
          }};
}

}  // namespace lab
