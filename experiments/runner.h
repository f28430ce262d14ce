#pragma once
// The experiment runner behind `lab run PRESET`: for every run of the preset's grid (or of one
// shard of it), generate its dataset once (shared by every run on the same parameters), train,
// probe, then build the results database, table and plots of the whole output directory.
//
//   OUT/datasets/<task>-<hash>/     one per distinct dataset
//   OUT/runs/<run id>/              a `lab train` run directory + run.json (preset, family, dataset)
//                                   + probe.json (the run is finished when this exists)
//   OUT/results.sqlite, results.csv, plots/    (results/report.h)
//
// Re-running the same command skips finished runs and resumes interrupted ones from their newest
// checkpoint, so a killed or preempted job continues where it stopped.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "experiments/preset.h"
#include "models/accounting.h"
#include "probes/probe.h"

namespace lab {

// The --dry-run time model: steps x a fixed cost per step (an MoE's is higher: routing, gathers and
// more, smaller products) + training FLOPs / a FLOP rate. Fitted on 2026-12-06 to the training
// seconds of 29 runs sampled from the six CPU presets, one process at two threads on the 2-core
// development machine; within 0.43-1.65x of each run, which also spends time on evaluations and
// probes (BENCHMARKS.md, "Issue 17 from start to end"). For GPUs pass --flops-per-second.
constexpr double kDefaultFlopsPerSecond = 1.0e11;
constexpr double kSecondsPerDenseStep = 0.0017;
constexpr double kSecondsPerMoeStep = 0.0033;

struct RunnerOptions {
  std::filesystem::path out;  // the output directory
  bool dry_run = false;       // list the runs and their estimated cost; run nothing
  int shard_index = 0;        // run only runs shard_index, shard_index + shard_count, ...
  int shard_count = 1;
  int threads = 1;  // dataset generation threads
  bool quiet = false;
  bool report = true;                          // build the results and plots at the end
  ProbeOptions probe;                          // the final probe (probe.json)
  std::int64_t periodic_probe_examples = 200;  // examples per split of the probes every probe_every steps
  double flops_per_second = kDefaultFlopsPerSecond;
};

struct RunEstimate {
  double mean_length = 0;  // tokens per training example (sampled from the generator)
  double tokens = 0;       // training tokens
  double flops = 0;        // training FLOPs (models/accounting.h)
  double steps = 0;        // optimizer steps
  ParameterCounts parameters;
};

// The cost of a run from its spec alone: a sample of its dataset's examples and the FLOP count.
RunEstimate estimate_run(const RunSpec& run);

struct RunnerSummary {
  int finished = 0;                   // trained (or resumed) and probed now
  int skipped = 0;                    // already finished
  std::vector<std::string> failures;  // "run id: message"
};

// Runs the preset; lab::Error before any run for a bad output directory or shard; a run that fails
// (a NaN loss, a full disk) is reported and the others continue; Ctrl-C stops after the current
// run's checkpoint (lab::Interrupted).
RunnerSummary run_preset(const Preset& preset, const RunnerOptions& options);

}  // namespace lab
