#include "experiments/runner.h"

#include <chrono>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/run_files.h"
#include "generators/dataset_reader.h"
#include "generators/dataset_writer.h"
#include "results/report.h"
#include "trainer/checkpoint.h"
#include "trainer/trainer.h"

namespace lab {
namespace fs = std::filesystem;
namespace {

std::string human(double v) {
  const char* units[] = {"", "k", "M", "G", "T", "P"};
  int u = 0;
  while (std::abs(v) >= 1000 && u < 5) {
    v /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f}", v) : fmt::format("{:.1f}{}", v, units[u]);
}

std::string duration(double seconds) {
  if (seconds < 90) return fmt::format("{:.0f} s", seconds);
  if (seconds < 5400) return fmt::format("{:.0f} min", seconds / 60);
  return fmt::format("{:.1f} h", seconds / 3600);
}

// The dataset of `data` under OUT/datasets, generated unless a complete one is there.
fs::path ensure_dataset(const DataSpec& data, const RunnerOptions& options) {
  const fs::path dir = options.out / "datasets" / data.id();
  if (fs::exists(dir / "manifest.json")) {
    Dataset::open(dir);  // a complete dataset (the writer renames it into place only when done)
    return dir;
  }
  if (!options.quiet) std::cout << fmt::format("generating {} ({})\n", dir.string(), data.label());
  try {
    write_dataset(*data.generator(), WriteOptions{dir, /*force=*/false, options.threads, options.quiet});
  } catch (const Error&) {
    // Another shard of the same preset may have written it meanwhile: the same bytes, so use theirs.
    if (!fs::exists(dir / "manifest.json")) throw;
    Dataset::open(dir);
  }
  return dir;
}

enum class RunState { fresh, partial, finished };

RunState state_of(const fs::path& run_dir) {
  if (fs::exists(run_dir / run_files::kProbe)) return RunState::finished;
  if (fs::exists(run_dir / run_files::kConfig) && latest_checkpoint(run_dir)) return RunState::partial;
  return RunState::fresh;
}

void write_run_info(const Preset& preset, const RunSpec& run, const fs::path& run_dir, double train_seconds) {
  namespace key = run_files::run_info;
  nlohmann::json info = {{key::kTrainSeconds, train_seconds}, {key::kRunId, run.id},
                         {key::kPreset, preset.name},         {key::kPresetFile, preset.file.string()},
                         {key::kFamily, run.family},          {key::kSeed, run.train.seed},
                         {key::kData, run.data.parameters()}, {key::kDataId, run.data.id()},
                         {key::kDataLabel, run.data.label()}};
  write_file_atomically(run_dir / run_files::kRunInfo, info.dump(2) + "\n");
}

void print_plan(const Preset& preset, const std::vector<const RunSpec*>& runs, const RunnerOptions& options) {
  std::cout << fmt::format("preset {} ({}): {} runs{}\n", preset.name, preset.file.string(), runs.size(),
                           options.shard_count > 1
                               ? fmt::format(" in shard {}/{}", options.shard_index, options.shard_count)
                               : "");
  std::cout << fmt::format("{:<44} {:<14} {:>6} {:>6} {:>9} {:>9} {:>7} {:>9} {:>9} {:>8}  {}\n", "run",
                           "family", "d", "E x k", "params", "active", "steps", "tokens", "FLOPs", "est.",
                           "state");
  double total_seconds = 0;
  for (const RunSpec* run : runs) {
    RunEstimate e = estimate_run(*run);
    const double seconds = e.steps * (run->model.is_moe() ? kSecondsPerMoeStep : kSecondsPerDenseStep) +
                           e.flops / options.flops_per_second;
    total_seconds += seconds;
    const std::string moe =
        run->model.is_moe() ? fmt::format("{}x{}", run->model.moe_experts(), run->model.moe_top_k()) : "-";
    const RunState state = state_of(options.out / "runs" / run->id);
    std::cout << fmt::format(
        "{:<44} {:<14} {:>6} {:>6} {:>9} {:>9} {:>7} {:>9} {:>9} {:>8}  {}\n", run->id, run->family,
        run->model.d_model, moe, human(static_cast<double>(e.parameters.total)),
        human(static_cast<double>(e.parameters.active)),
        run->train.steps > 0 ? std::to_string(run->train.steps) : fmt::format("{}ep", run->train.epochs),
        human(e.tokens), human(e.flops), duration(seconds),
        state == RunState::finished  ? "done"
        : state == RunState::partial ? "partial"
                                     : "todo");
  }
  std::cout << fmt::format(
      "estimated training time: {} in one process ({:.1f} ms per dense step, {:.1f} per MoE step + the "
      "FLOPs at {}FLOP/s, --flops-per-second); n shards in parallel take about 1/n of it; data generation, "
      "evaluations and probes come on top\n",
      duration(total_seconds), kSecondsPerDenseStep * 1000, kSecondsPerMoeStep * 1000,
      human(options.flops_per_second));
}

}  // namespace

RunEstimate estimate_run(const RunSpec& run) {
  const auto generator = run.data.generator();
  // The mean and longest example of a sample of the training split: the sequence length the FLOP
  // count needs (and the model's max_seq_len, which learned positions turn into parameters).
  const std::uint64_t sample = std::min<std::uint64_t>(run.data.train_count(), 256);
  std::vector<Token> tokens;
  std::size_t total = 0, longest = 0;
  for (std::uint64_t i = 0; i < sample; ++i) {
    tokens.clear();
    generator->generate(0, i, tokens);
    total += tokens.size();
    longest = std::max(longest, tokens.size());
  }
  RunEstimate e;
  e.mean_length = static_cast<double>(total) / static_cast<double>(sample);
  ModelConfig model = run.model;
  model.vocab_size = static_cast<std::int64_t>(generator->vocabulary().size());
  model.max_seq_len = static_cast<std::int64_t>(longest);
  e.parameters = count_parameters(model);
  const double examples = run.train.steps > 0
                              ? static_cast<double>(run.train.steps * run.train.batch_size)
                              : run.train.epochs * static_cast<double>(run.data.train_count());
  e.tokens = examples * (e.mean_length - 1);
  e.steps =
      run.train.steps > 0
          ? static_cast<double>(run.train.steps)
          : std::ceil(examples /
                      static_cast<double>(run.train.batch_size));  // the model reads every token but the last
  e.flops = e.tokens * count_flops(model, static_cast<std::int64_t>(std::lround(e.mean_length))).training;
  return e;
}

RunnerSummary run_preset(const Preset& preset, const RunnerOptions& options) {
  if (options.shard_count < 1 || options.shard_index < 0 || options.shard_index >= options.shard_count) {
    fail("--shard {}/{}: expected i/n with 0 <= i < n", options.shard_index, options.shard_count);
  }
  std::vector<const RunSpec*> runs;
  for (std::size_t i = 0; i < preset.runs.size(); ++i) {
    if (static_cast<int>(i % options.shard_count) == options.shard_index) runs.push_back(&preset.runs[i]);
  }
  if (options.dry_run) {
    print_plan(preset, runs, options);
    return {};
  }
  std::error_code ec;
  fs::create_directories(options.out / "runs", ec);
  if (ec) fail("{}: cannot create the output directory ({})", options.out.string(), ec.message());
  write_file_atomically(options.out / "preset.resolved.toml", preset.resolved_toml);

  RunnerSummary summary;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunSpec& run = *runs[i];
    const fs::path run_dir = options.out / "runs" / run.id;
    const RunState state = state_of(run_dir);
    const std::string counter = fmt::format("[{}/{}]", i + 1, runs.size());
    if (state == RunState::finished) {
      ++summary.skipped;
      if (!options.quiet) std::cout << fmt::format("{} {}: finished, skipped\n", counter, run.id);
      continue;
    }
    try {
      if (!options.quiet) {
        std::cout << fmt::format("{} {}: {} on {}{}\n", counter, run.id, run.family, run.data.label(),
                                 state == RunState::partial ? " (resuming)" : "");
      }
      TrainConfig train = run.train;
      train.data_dir = ensure_dataset(run.data, options).string();
      train.out_dir = run_dir.string();
      train.resume = state == RunState::partial;
      // A run directory without a checkpoint holds nothing worth keeping (a crash before the first
      // checkpoint): start it again.
      if (state == RunState::fresh && fs::exists(run_dir)) fs::remove_all(run_dir);
      TrainResult trained =
          lab::train(train, run.model, options.quiet, periodic_probe_hooks(options.periodic_probe_examples));
      write_run_info(preset, run, run_dir, trained.seconds);
      ProbeOptions probe_options = options.probe;
      if (preset.predictions) probe_options.predictions = run_dir / "predictions.jsonl";
      nlohmann::json probe = probe_run(run_dir, probe_options);
      ++summary.finished;
      if (!options.quiet) {
        std::cout << fmt::format("{} {}: loss {:.4f}, accuracy {:.1f}% ({} s)\n", counter, run.id,
                                 trained.train_loss,
                                 100 * probe.at(run_files::probe::kMetrics).at("accuracy").get<double>(),
                                 std::lround(trained.seconds));
      }
    } catch (const Interrupted&) {
      throw;
    } catch (const Error& e) {
      summary.failures.push_back(fmt::format("{}: {}", run.id, e.what()));
      std::cerr << fmt::format("{} {}: failed: {}\n", counter, run.id, e.what());
    }
  }
  if (options.report) {
    ReportOptions report;
    report.quiet = options.quiet;
    build_report(options.out, report);
  }
  return summary;
}

}  // namespace lab
