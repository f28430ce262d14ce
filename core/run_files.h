#pragma once
// The run directory's format: the file names and the JSON keys that cross modules. Its writers (the
// trainer, `lab probe`, the experiment runner) and its readers (`lab report`, `lab probe`, resume, the
// runner's skip logic) all spell them from here; a key one module writes and reads alone stays a
// literal there.
//
//   RUN/config.json     written once by the trainer: what the run is (trainer/trainer.h)
//   RUN/metrics.jsonl   appended by the trainer: one line per log step, held-out evaluation, probe
//   RUN/checkpoints/    the trainer's checkpoints (trainer/checkpoint.h)
//   RUN/model.safetensors  the final weights with config.json, for PyTorch (trainer/model_file.h)
//   RUN/tb/             TensorBoard event files: every scalar of metrics.jsonl (core/tensorboard.h)
//   RUN/probe.json      written by the probes after training: the run's result (probes/probe.h)
//   RUN/run.json        written by the experiment runner: which preset run this is (experiments/runner.h)

namespace lab::run_files {

inline constexpr char kConfig[] = "config.json";
inline constexpr char kMetrics[] = "metrics.jsonl";
inline constexpr char kCheckpoints[] = "checkpoints";
inline constexpr char kModelFile[] = "model.safetensors";
inline constexpr char kTensorBoard[] = "tb";
inline constexpr char kProbe[] = "probe.json";
inline constexpr char kRunInfo[] = "run.json";

// config.json
namespace config {
inline constexpr char kLabVersion[] = "lab_version";
inline constexpr char kGitCommit[] = "git_commit";
inline constexpr char kModel[] = "model";  // the ModelConfig fields, plus "resolved" sizes
inline constexpr char kModelResolved[] = "resolved";
inline constexpr char kTrain[] = "train";  // the TrainConfig fields
inline constexpr char kDataset[] = "dataset";
inline constexpr char kDatasetDir[] = "dir";
inline constexpr char kDatasetTask[] = "task";
inline constexpr char kDatasetChecksum[] = "manifest_crc32c";
inline constexpr char kParallelism[] = "parallelism";
inline constexpr char kWorkers[] = "workers";
inline constexpr char kThreadsPerWorker[] = "threads_per_worker";
inline constexpr char kKernels[] = "kernels";
// How the run was started, for the record (read by nothing): argv, host, LibTorch and BLAS versions,
// whether the binary was built from a tree with uncommitted changes.
inline constexpr char kEnvironment[] = "environment";
}  // namespace config

// metrics.jsonl: every line has a step; a training line has the loss and the counters, an evaluation
// line the held-out loss, a probe line the probe's metrics prefixed.
namespace metrics {
inline constexpr char kStep[] = "step";
inline constexpr char kEpoch[] = "epoch";
inline constexpr char kTokens[] = "tokens";
inline constexpr char kLoss[] = "loss";
inline constexpr char kAuxLoss[] = "aux_loss";
inline constexpr char kLoadBalanceLoss[] = "load_balance_loss";
inline constexpr char kZLoss[] = "z_loss";
inline constexpr char kLearningRate[] = "lr";
inline constexpr char kGradNorm[] = "grad_norm";
inline constexpr char kTokensPerSecond[] = "tokens_per_s";
inline constexpr char kSeconds[] = "seconds";  // training wall time so far, over every invocation
inline constexpr char kEvalLoss[] = "eval_loss";
inline constexpr char kRouter[] =
    "router";  // MoE: per layer, the window's router load (trainer/router_load.h)
inline constexpr char kRouterImbalance[] = "imbalance";
inline constexpr char kRouterIdleExperts[] = "idle_experts";
inline constexpr char kRouterEntropy[] = "routing_entropy";
inline constexpr char kRouterExpertShare[] = "expert_share";
inline constexpr char kProbePrefix[] = "probe_";
}  // namespace metrics

// probe.json
namespace probe {
inline constexpr char kTask[] = "task";
inline constexpr char kMetrics[] = "metrics";        // flat {name: number}
inline constexpr char kParameters[] = "parameters";  // models/accounting.h ParameterCounts
inline constexpr char kRun[] = "run";                // which checkpoint of which run on which data
}  // namespace probe

// run.json
namespace run_info {
inline constexpr char kRunId[] = "run_id";
inline constexpr char kPreset[] = "preset";
inline constexpr char kPresetFile[] = "preset_file";
inline constexpr char kFamily[] = "family";
inline constexpr char kSeed[] = "seed";
inline constexpr char kData[] = "data";  // the generator's parameters
inline constexpr char kDataId[] = "data_id";
inline constexpr char kDataLabel[] = "data_label";
inline constexpr char kTrainSeconds[] = "train_seconds";
}  // namespace run_info

}  // namespace lab::run_files
