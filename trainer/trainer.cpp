#include "trainer/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/blas_info.h"
#include "core/build_info.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/json_file.h"
#include "core/progress.h"
#include "core/run_files.h"
#include "core/system_memory.h"
#include "generators/dataset_reader.h"
#include "models/accounting.h"
#include "models/kernels.h"
#include "models/model_config_json.h"
#include "models/transformer.h"
#include "trainer/batcher.h"
#include "trainer/checkpoint.h"
#include "trainer/distributed.h"
#include "trainer/fused_adamw.h"
#include "trainer/model_file.h"
#include "trainer/run_directory.h"
#include "trainer/train_config_json.h"
#include "trainer/training_loop.h"

namespace lab {
namespace fs = std::filesystem;
namespace key = run_files::config;
namespace metric = run_files::metrics;
namespace {

// Sets the model's vocabulary and sequence length from the dataset where they are 0, and checks that
// the dataset fits the model.
void fit_model_to_data(ModelConfig& model, const Dataset& data) {
  const auto vocabulary = static_cast<std::int64_t>(data.vocabulary().size());
  std::int64_t longest = 0;  // the model reads every token but the last
  for (const std::string& name : data.split_names()) {
    longest = std::max<std::int64_t>(longest, data.split(name).max_length() - 1);
  }
  if (model.vocab_size == 0) model.vocab_size = vocabulary;
  if (model.max_seq_len == 0) model.max_seq_len = longest;
  if (model.vocab_size < vocabulary) {
    fail(
        "--vocab ({}) is smaller than the vocabulary of {} ({} tokens); leave --vocab unset to take it from "
        "the data",
        model.vocab_size, data.dir().string(), vocabulary);
  }
  if (model.max_seq_len < longest) {
    fail("--max-seq-len ({}) is shorter than the longest example of {} ({} input tokens)", model.max_seq_len,
         data.dir().string(), longest);
  }
}

// Weights, gradients and AdamW's two moments: 4 bytes each per parameter, before any activation.
constexpr double kTrainingBytesPerParameter = 16;

// Refuses a model whose weights and optimizer state alone exceed the memory available, before
// allocating any of it (an allocation error deep inside LibTorch, or the OOM killer, otherwise).
void check_training_fits_in_memory(const ModelConfig& model, torch::Device device) {
  if (!device.is_cpu()) return;  // a CUDA allocation failure is reported by LibTorch with the sizes
  const std::optional<std::uint64_t> available = available_memory_bytes();
  if (!available) return;
  const ParameterCounts p = count_parameters(model);
  const double needed = kTrainingBytesPerParameter * static_cast<double>(p.total);
  if (needed > static_cast<double>(*available)) {
    constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
    fail(
        "the model has {} parameters: training needs at least {:.2f} GiB for its weights, gradients and "
        "AdamW moments ({} bytes a parameter, before activations), and {:.2f} GiB are available; choose a "
        "smaller --d-model, --d-ff, --layers or --experts (`lab model-info` counts the parameters)",
        p.total, needed / kGiB, kTrainingBytesPerParameter, static_cast<double>(*available) / kGiB);
  }
}

// Sets LibTorch's thread count for a scope and restores it after (the experiment runner trains many
// runs in one process).
class ThreadCountScope {
 public:
  explicit ThreadCountScope(int threads) : before_(torch::get_num_threads()) {
    if (threads != before_) torch::set_num_threads(threads);
  }
  ~ThreadCountScope() {
    if (torch::get_num_threads() != before_) torch::set_num_threads(before_);
  }
  ThreadCountScope(const ThreadCountScope&) = delete;
  ThreadCountScope& operator=(const ThreadCountScope&) = delete;

 private:
  int before_;
};

// The configs a run trains with: the flags' for a new run; for a resumed one, config.json's and the
// threads and kernels it was started with.
struct RunConfigs {
  TrainConfig train;
  ModelConfig model;
  nlohmann::json stored;                     // a resumed run's config.json; null for a new run
  std::optional<RunParallelism> resumed_on;  // a resumed run's workers and threads, where recorded
  Kernels kernels = Kernels::fused;
};

RunConfigs resolve_configs(const TrainConfig& flags, const ModelConfig& model) {
  RunConfigs run{flags, model, nullptr, std::nullopt, kernels()};
  const fs::path config_file = fs::path(flags.out_dir) / run_files::kConfig;
  if (flags.resume) {
    if (!fs::exists(config_file)) {
      fail("--resume: {} has no config.json; it is not a run directory (start a new run without --resume)",
           flags.out_dir);
    }
    run.stored = read_json_file(config_file);
    run.train = train_config_from_json(run.stored.at(key::kTrain), flags, config_file.string());
    run.model = model_config_from_json(run.stored.at(key::kModel), config_file.string());
  }
  run.train.validate();
  if (flags.resume) {
    run.resumed_on = parallelism_of(run.stored, config_file);
    run.kernels = kernels_of(run.stored, config_file);  // --kernels of the resuming command is ignored
  }
  return run;
}

// Checks what can be checked before the workers meet; returns this worker's device: LOCAL_RANK's CUDA
// device (one per worker of a machine; the only one, when it sees one) or the CPU.
torch::Device check_workers(const RunConfigs& run, const DistributedEnv& env) {
  if (run.resumed_on && run.resumed_on->workers != env.world_size && env.rank == 0) {
    std::cerr << fmt::format(
        "lab train: {} was trained by {} worker{} and continues on {}: its result will differ in rounding "
        "from an uninterrupted run's\n",
        run.train.out_dir, run.resumed_on->workers, run.resumed_on->workers == 1 ? "" : "s", env.world_size);
  }
  check_batch_divides(run.train.batch_size, env.world_size);
  if (run.train.device != "cuda") return torch::Device(torch::kCPU);
  if (!torch::cuda::is_available()) {
    fail("--device cuda: this LibTorch build has no CUDA device available; use --device cpu");
  }
  // A worker that sees one GPU takes it whatever its LOCAL_RANK when the launcher gave each worker its
  // own (Slurm's --gpus-per-task 1 sets CUDA_VISIBLE_DEVICES per task); otherwise LOCAL_RANK's GPU.
  const auto gpus = static_cast<int>(torch::cuda::device_count());
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  if (gpus == 1 && (env.local_rank == 0 || (visible != nullptr && *visible != '\0')))
    return torch::Device(torch::kCUDA, 0);
  if (env.local_rank >= gpus) {
    fail(
        "--device cuda: LOCAL_RANK={} but this worker sees {} CUDA device{}: start at most one worker per "
        "GPU "
        "(or give each its own through CUDA_VISIBLE_DEVICES)",
        env.local_rank, gpus, gpus == 1 ? "" : "s");
  }
  return torch::Device(torch::kCUDA, env.local_rank);
}

// config.json of a new run.
nlohmann::json new_run_config(const RunConfigs& run, const Dataset& data, const Distributed& dist) {
  return {{key::kLabVersion, std::string(project_version())},
          {key::kGitCommit, std::string(git_commit())},
          {key::kDataset,
           {{key::kDatasetDir, run.train.data_dir},
            {key::kDatasetTask, data.task()},
            {key::kDatasetChecksum, data.manifest().at("manifest_crc32c").get<std::string>()}}},
          {key::kModel, model_config_to_json(run.model)},
          {key::kTrain, train_config_to_json(run.train)},
          {key::kParallelism,
           {{key::kWorkers, dist.world_size()}, {key::kThreadsPerWorker, torch::get_num_threads()}}},
          {key::kKernels, std::string(to_string(kernels()))},
          {key::kEnvironment,
           {{"argv", command_line()},
            {"host", host_name()},
            {"libtorch", TORCH_VERSION},
            {"blas", detect_blas().description},
            {"source_dirty", source_dirty()}}}};
}

// Opens the dataset and fits the model to it; writes a new run's config.json (rank 0 only writes to
// the run directory) or checks that a resumed run's dataset is the one it was trained on; builds the
// model and optimizer and loads the newest checkpoint.
void open_run(RunConfigs& run, torch::Device device, const Distributed& dist, NewRunDirectory& new_run_dir,
              OpenRun& open) {
  const TrainConfig& c = run.train;
  const fs::path run_dir = c.out_dir;
  open.data.emplace(Dataset::open(c.data_dir));
  // Opening checks sizes, bounds and token ids; a flipped token that stays inside the vocabulary
  // only the checksums catch (~0.1 s for a 3e6-entry book, BENCHMARKS.md).
  open.data->verify_checksums();
  if (const std::uint64_t examples = open.data->split("train").size();
      static_cast<std::uint64_t>(c.batch_size) > examples) {
    fail("--batch-size {} is larger than the {} training examples of {}: use at most {}", c.batch_size,
         examples, c.data_dir, examples);
  }
  fit_model_to_data(run.model, *open.data);
  run.model.validate();
  check_training_fits_in_memory(run.model, device);
  const std::string checksum = open.data->manifest().at("manifest_crc32c").get<std::string>();
  if (!c.resume && dist.is_main()) {
    new_run_dir.create(run_dir);
    write_file_atomically(run_dir / run_files::kConfig, new_run_config(run, *open.data, dist).dump(2) + "\n");
  } else if (c.resume &&
             run.stored.at(key::kDataset).at(key::kDatasetChecksum).get<std::string>() != checksum) {
    fail("--resume: the dataset {} is not the one this run was trained on (manifest checksum differs)",
         c.data_dir);
  }
  if (dist.is_main()) {  // what a run killed mid-write left behind (checkpoint or config temporaries)
    remove_stale_temporaries(run_dir);
    remove_stale_temporaries(run_dir / run_files::kCheckpoints);
  }
  torch::manual_seed(c.seed);
  open.model = Transformer(run.model, device);
  open.optimizer = make_optimizer(open.model, c);
  if (c.resume) {
    if (auto latest = latest_checkpoint(run_dir)) {
      open.state = load_checkpoint(*latest, *open.model, *open.optimizer);
    }
  }
}

// CRC-32C of a manifest, from its hex text, to compare the workers' datasets.
std::int64_t checksum_value(const std::string& hex) {
  try {
    return static_cast<std::int64_t>(std::stoull(hex, nullptr, 16));
  } catch (const std::exception&) {
    return -1;
  }
}

// Opens the run on every worker and starts them together with rank 0's weights. A worker whose setup
// fails tells the others, so that all of them stop with an error instead of waiting for it; workers
// that read different datasets stop too.
OpenRun open_together(RunConfigs& run, torch::Device device, Distributed& dist,
                      NewRunDirectory& new_run_dir) {
  OpenRun open;
  std::exception_ptr setup_error;
  try {
    open_run(run, device, dist, new_run_dir, open);
  } catch (...) {
    setup_error = std::current_exception();
  }
  const std::int64_t checksum =
      setup_error ? 0 : checksum_value(open.data->manifest().at("manifest_crc32c").get<std::string>());
  const std::vector<std::int64_t> status = dist.max({setup_error ? 1 : 0, checksum, -checksum});
  if (setup_error) std::rethrow_exception(setup_error);
  if (status[0] != 0)
    fail("rank {}: stopped because another worker failed to start (see its error)", dist.rank());
  if (status[1] != -status[2]) {
    fail("rank {}: the workers read different datasets (the manifest checksums of --data {} differ)",
         dist.rank(), run.train.data_dir);
  }
  // Same seed, same weights; rank 0's are copied anyway so that no rank can start elsewhere.
  dist.broadcast(open.model->parameters());
  return open;
}

// RUN/model.safetensors: the final weights with the run's config.json, for PyTorch.
void write_final_model(const fs::path& run_dir, torch::nn::Module& model) {
  write_model_file(run_dir / run_files::kModelFile, model, read_json_file(run_dir / run_files::kConfig));
}

// A finished run resumed (a requeued job, a repeated command), reported as it stands: evaluating and
// logging again would append a duplicate final line.
TrainResult finished_run(const fs::path& run_dir, TrainResult result) {
  result.already_finished = true;
  result.eval_loss = std::numeric_limits<double>::quiet_NaN();
  const fs::path metrics_file = run_dir / run_files::kMetrics;
  if (fs::exists(metrics_file)) {
    for (const nlohmann::json& line : read_jsonl_file(metrics_file)) {
      if (line.contains(metric::kLoss)) result.train_loss = line.value(metric::kLoss, 0.0);
      if (line.contains(metric::kEvalLoss))
        result.eval_loss = line.value(metric::kEvalLoss, result.eval_loss);
    }
  }
  return result;
}

}  // namespace

void check_batch_divides(std::int64_t batch_size, int workers) {
  if (batch_size % workers != 0) {
    fail(
        "--batch-size {} is not divisible by the {} workers (--nproc / WORLD_SIZE): each takes an equal "
        "share of the global batch",
        batch_size, workers);
  }
}

// AdamW with weight decay on matrices only: norms, biases and embeddings are not decayed. Its step
// is one pass per parameter on the CPU (trainer/fused_adamw.h).
std::unique_ptr<torch::optim::AdamW> make_optimizer(Transformer& model, const TrainConfig& c) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    bool exempt = item.value().dim() < 2 || name.find("embedding") != std::string::npos;
    (exempt ? no_decay : decay).push_back(item.value());
  }
  auto options = [&](double weight_decay) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(c.schedule.peak_lr).betas({c.beta1, c.beta2}).weight_decay(weight_decay));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, options(c.weight_decay));
  groups.emplace_back(no_decay, options(0.0));
  return std::make_unique<FusedAdamW>(groups, torch::optim::AdamWOptions(c.schedule.peak_lr));
}

TrainResult train(const TrainConfig& flags, ModelConfig model_config, bool quiet, const TrainHooks& hooks) {
  const auto start = std::chrono::steady_clock::now();
  const DistributedEnv dist_env = distributed_env_from_environment();
  RunConfigs run = resolve_configs(flags, model_config);
  const TrainConfig& c = run.train;
  // A resumed run computes with the threads and kernels it was started with (restored on return).
  ThreadCountScope threads(run.resumed_on ? run.resumed_on->threads : torch::get_num_threads());
  KernelsGuard kernels_in_use(run.kernels);
  const torch::Device device = check_workers(run, dist_env);
  Distributed dist(dist_env, device);  // rendezvous with the other workers, if any
  NewRunDirectory new_run_dir;         // declared before a setup error is rethrown: it cleans up after it
  OpenRun open = open_together(run, device, dist, new_run_dir);

  const Batcher batcher(open.data->split("train"), c.batch_size, c.seed, c.loss_on);
  const std::int64_t total_steps =
      c.steps > 0
          ? c.steps
          : static_cast<std::int64_t>(std::ceil(c.epochs * static_cast<double>(batcher.batches_per_epoch())));
  std::optional<Batcher> eval_batcher;
  const std::vector<std::string> splits = open.data->split_names();
  if (std::find(splits.begin(), splits.end(), "test") != splits.end()) {
    eval_batcher.emplace(open.data->split("test"), c.batch_size, c.seed, c.loss_on, 1);
  }
  TrainResult result;
  result.model = run.model;
  result.rank = dist.rank();
  result.world_size = dist.world_size();
  auto finish = [&](TrainResult r) {
    r.steps = open.state.step;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
  };
  if (c.resume && open.state.step >= total_steps) {
    // Runs finished before the model file existed get one.
    if (dist.is_main() && !fs::exists(fs::path(c.out_dir) / run_files::kModelFile))
      write_final_model(c.out_dir, *open.model);
    return finish(finished_run(c.out_dir, result));
  }

  TrainingLoop loop(c, device, dist, open, batcher, eval_batcher ? &*eval_batcher : nullptr, total_steps,
                    hooks, quiet);
  install_interrupt_handlers();
  Progress progress("train", static_cast<std::uint64_t>(total_steps), quiet || !dist.is_main());
  while (loop.steps_done() < total_steps) {
    const int stop_signal = loop.step();
    new_run_dir.keep();
    const std::int64_t step = loop.steps_done();
    const bool last = step == total_steps;
    auto every = [&](std::int64_t period) { return period > 0 && step % period == 0 && !last; };
    if (step % c.log_every == 0 || last) loop.log_window();
    if (stop_signal != 0 && !last) loop.stop(stop_signal);
    if (every(c.eval_every)) loop.log_eval();
    if (every(c.probe_every)) loop.probe();
    if (every(c.checkpoint_every)) loop.checkpoint();
    progress.update(static_cast<std::uint64_t>(step));
  }
  progress.finish();
  result.train_loss = loop.last_loss();
  result.eval_loss = loop.log_eval();
  if (c.probe_every > 0) loop.probe();
  loop.checkpoint();
  if (dist.is_main()) write_final_model(c.out_dir, *open.model);
  dist.barrier();  // no worker reports success before rank 0 has saved
  return finish(result);
}

}  // namespace lab
