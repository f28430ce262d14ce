// `lab run PRESET`: the one-command experiment (experiments/runner.h).
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/runtime.h"
#include "cli/validators.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "experiments/runner.h"
#include "results/report.h"

namespace lab {

Command add_run_command(CLI::App& app, const GlobalOptions& global) {
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Run an experiment preset: generate its datasets, train every run of its grid, probe them, and write "
      "results.sqlite, results.csv and plots (finished runs are skipped, interrupted ones resumed)");
  struct Options {
    std::string preset;
    std::string out;
    std::string shard;
    bool dry_run = false;
    bool list = false;
    bool no_report = false;
    RunnerOptions runner;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("PRESET", o->preset, "A shipped preset's name (see --list) or a preset file (.toml)");
  cmd->add_option("--out", o->out, "Output directory (default: runs/<preset name>)")->option_text("DIR");
  cmd->add_flag("--dry-run", o->dry_run,
                "List the runs with their parameters and estimated cost; run nothing");
  cmd->add_option("--shard", o->shard,
                  "Run every n-th run starting at i (0-based), e.g. --shard 2/8 in the third of 8 batch jobs")
      ->option_text("i/n");
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
            Preset preset = load_preset(find_preset(o->preset));
            RunnerOptions& r = o->runner;
            r.out =
                o->out.empty() ? std::filesystem::path("runs") / preset.name : std::filesystem::path(o->out);
            r.dry_run = o->dry_run;
            r.quiet = global.quiet;
            r.report = !o->no_report;
            r.threads = global.threads > 0 ? global.threads : default_thread_count();
            if (!o->shard.empty()) {
              int i = -1, n = 0;
              char slash = 0;
              std::istringstream in(o->shard);
              if (!(in >> i >> slash >> n) || slash != '/' || !in.eof() || n < 1 || i < 0 || i >= n) {
                fail("--shard {}: expected i/n with 0 <= i < n, e.g. 0/4", o->shard);
              }
              r.shard_index = i;
              r.shard_count = n;
            }
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
      "accuracy-versus-parameters and loss plots into DIR/plots/");
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
