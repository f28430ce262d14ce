#include "trainer/trainer.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/build_info.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/json_file.h"
#include "core/progress.h"
#include "core/system_memory.h"
#include "generators/dataset_reader.h"
#include "models/accounting.h"
#include "models/autocast.h"
#include "models/kernels.h"
#include "models/model_config_json.h"
#include "models/transformer.h"
#include "trainer/checkpoint.h"
#include "trainer/distributed.h"
#include "trainer/train_config_json.h"

namespace lab {
namespace fs = std::filesystem;
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

struct StepLoss {
  torch::Tensor loss;  // scalar fp32: summed cross-entropy over the masked targets / normalizer
  TransformerOutput out;
};

// `normalizer` is the number of loss tokens the mean is over: the batch's own, or in data-parallel
// training the whole global batch's, so that the ranks' losses (and so their gradients) add up to
// exactly the single-worker mean.
StepLoss forward_loss(Transformer& model, const Batch& batch, const TrainConfig& c, torch::Device device,
                      std::int64_t normalizer) {
  StepLoss result;
  {
    AutocastGuard autocast(device.type(), torch::kBFloat16, c.bf16);
    result.out = model->forward(batch.inputs);
  }
  torch::Tensor logits = result.out.logits.to(torch::kFloat32);  // [B, T, V]
  const std::int64_t vocabulary = logits.size(-1);
  torch::Tensor per_token = torch::nn::functional::cross_entropy(
      logits.reshape({-1, vocabulary}), batch.targets.reshape(-1),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));  // [B*T]
  result.loss = (per_token * batch.loss_mask.reshape(-1)).sum() / std::max<std::int64_t>(normalizer, 1);
  return result;
}

// Mean held-out loss over the first `eval_batches` batches of a fixed plan of the test split; with
// several workers each evaluates every world_size-th batch and the sums are added up.
double evaluate(Transformer& model, const Batcher& batcher, const TrainConfig& c, torch::Device device,
                Distributed& dist) {
  torch::NoGradGuard no_grad;
  model->eval();
  double weighted = 0;
  std::int64_t tokens = 0;
  auto plan = batcher.epoch_plan(0);
  for (std::size_t i = 0; i < plan.size() && static_cast<std::int64_t>(i) < c.eval_batches; ++i) {
    if (static_cast<int>(i % static_cast<std::size_t>(dist.world_size())) != dist.rank()) continue;
    Batch batch = batcher.make_batch(plan[i], device);
    weighted += forward_loss(model, batch, c, device, batch.loss_tokens).loss.item<double>() *
                static_cast<double>(batch.loss_tokens);
    tokens += batch.loss_tokens;
  }
  model->train();
  const std::vector<double> total = dist.sum({weighted, static_cast<double>(tokens)});
  return total[1] > 0 ? total[0] / total[1] : std::numeric_limits<double>::quiet_NaN();
}

// CRC-32C of a manifest, from its hex text, to compare the workers' datasets.
std::int64_t checksum_value(const std::string& hex) {
  try {
    return static_cast<std::int64_t>(std::stoull(hex, nullptr, 16));
  } catch (const std::exception&) {
    return -1;
  }
}

// metrics.jsonl without the lines logged after `step` (a resumed run re-logs them).
void truncate_metrics(const fs::path& file, std::int64_t step) {
  std::ifstream in(file);
  if (!in) return;
  std::string kept, line;
  while (std::getline(in, line)) {
    try {
      if (nlohmann::json::parse(line).at("step").get<std::int64_t>() <= step) kept += line + "\n";
    } catch (const nlohmann::json::exception&) {
      // A line torn by a crash: dropped.
    }
  }
  write_file_atomically(file, kept);
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

// What train() created in a new run directory, removed again if training fails before its first step
// completes, so that the same command can be retried (a run directory that exists is refused).
class NewRunDirectory {
 public:
  NewRunDirectory() = default;
  NewRunDirectory(const NewRunDirectory&) = delete;
  NewRunDirectory& operator=(const NewRunDirectory&) = delete;
  ~NewRunDirectory() {
    if (dir_.empty()) return;
    std::error_code ec;
    if (created_) {
      fs::remove_all(dir_, ec);
    } else {  // the user's empty directory: only what the trainer put in it
      for (const char* name : {"config.json", "metrics.jsonl", "checkpoints"})
        fs::remove_all(dir_ / name, ec);
    }
  }
  // Creates `dir` (which is empty or absent) and arms the cleanup.
  void create(const fs::path& dir) {
    std::error_code ec;
    created_ = !fs::exists(dir);
    fs::create_directories(dir, ec);
    if (ec) fail("--out {}: cannot create the directory: {}", dir.string(), ec.message());
    dir_ = dir;
  }
  void keep() { dir_.clear(); }  // the first step is done: the run exists

 private:
  fs::path dir_;
  bool created_ = false;
};

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

// The "parallelism" record of a config.json's content; nullopt for runs from before it was stored.
std::optional<RunParallelism> parallelism_of(const nlohmann::json& stored, const fs::path& config_file) {
  if (!stored.is_object() || !stored.contains("parallelism")) return std::nullopt;
  try {
    RunParallelism p;
    p.workers = stored.at("parallelism").at("workers").get<int>();
    p.threads = stored.at("parallelism").at("threads_per_worker").get<int>();
    if (p.workers < 1 || p.threads < 1) throw std::out_of_range("not positive");
    return p;
  } catch (const std::exception& e) {
    fail("{}: \"parallelism\" needs positive integers \"workers\" and \"threads_per_worker\" ({})",
         config_file.string(), e.what());
  }
}

// The kernels a run was trained with (config.json "kernels"); runs from before it was recorded were
// trained by the plain LibTorch composition, which `reference` reproduces bit for bit.
Kernels kernels_of(const nlohmann::json& stored, const fs::path& config_file) {
  if (!stored.is_object() || !stored.contains("kernels")) return Kernels::reference;
  const nlohmann::json& value = stored.at("kernels");
  for (Kernels kind : {Kernels::fused, Kernels::reference}) {
    if (value.is_string() && value.get<std::string>() == to_string(kind)) return kind;
  }
  fail("{}: \"kernels\" must be \"fused\" or \"reference\", not {}", config_file.string(), value.dump());
}

}  // namespace

// AdamW with weight decay on matrices only: norms, biases and embeddings are not decayed.
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
  return std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(c.schedule.peak_lr));
}

std::optional<RunParallelism> stored_parallelism(const fs::path& run_dir) {
  const fs::path config_file = run_dir / "config.json";
  if (!fs::exists(config_file)) return std::nullopt;
  return parallelism_of(read_json_file(config_file), config_file);
}

TrainResult train(const TrainConfig& flags, ModelConfig model_config, bool quiet, const TrainHooks& hooks) {
  const auto start = std::chrono::steady_clock::now();
  const DistributedEnv dist_env = distributed_env_from_environment();
  const fs::path run_dir = flags.out_dir;
  const fs::path config_file = run_dir / "config.json";
  TrainConfig c = flags;
  nlohmann::json resumed_config;  // the config.json of the run being resumed, read once
  if (flags.resume) {
    if (!fs::exists(config_file)) {
      fail("--resume: {} has no config.json; it is not a run directory (start a new run without --resume)",
           run_dir.string());
    }
    resumed_config = read_json_file(config_file);
    c = train_config_from_json(resumed_config.at("train"), flags, config_file.string());
    model_config = model_config_from_json(resumed_config.at("model"), config_file.string());
  }
  c.validate();
  // A resumed run computes with the threads it was started with (restored when train() returns).
  std::optional<RunParallelism> resumed_on;
  if (flags.resume) resumed_on = parallelism_of(resumed_config, config_file);
  ThreadCountScope threads(resumed_on ? resumed_on->threads : torch::get_num_threads());
  // ... and with the kernels it was started with (--kernels of the resuming command is ignored).
  KernelsGuard kernels_in_use(flags.resume ? kernels_of(resumed_config, config_file) : kernels());
  if (resumed_on && resumed_on->workers != dist_env.world_size && dist_env.rank == 0) {
    std::cerr << fmt::format(
        "lab train: {} was trained by {} worker{} and continues on {}: its result will differ in rounding "
        "from an uninterrupted run's\n",
        run_dir.string(), resumed_on->workers, resumed_on->workers == 1 ? "" : "s", dist_env.world_size);
  }
  if (c.batch_size % dist_env.world_size != 0) {
    fail(
        "--batch-size {} is not divisible by the {} workers (--nproc / WORLD_SIZE): each takes an equal "
        "share of the global batch",
        c.batch_size, dist_env.world_size);
  }
  // One CUDA device per worker of a machine: LOCAL_RANK's.
  const torch::Device device =
      c.device == "cuda" ? torch::Device(torch::kCUDA, dist_env.local_rank) : torch::Device(torch::kCPU);
  if (device.is_cuda() && !torch::cuda::is_available()) {
    fail("--device cuda: this LibTorch build has no CUDA device available; use --device cpu");
  }
  Distributed dist(dist_env, device);  // rendezvous with the other workers, if any
  const bool main_rank = dist.is_main();

  // Only rank 0 writes to the run directory; the others only read it (--resume). A rank whose setup
  // fails tells the others, so that all of them stop with an error instead of waiting for it.
  std::optional<Dataset> data;
  std::string manifest_checksum;
  Transformer model{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer;
  CheckpointState state;
  std::exception_ptr setup_error;
  NewRunDirectory new_run_dir;  // declared before the exception is rethrown, so it cleans up after it
  try {
    data.emplace(Dataset::open(c.data_dir));
    // Opening checks sizes, bounds and token ids; a flipped token that stays inside the vocabulary
    // only the checksums catch (~0.1 s for a 3e6-entry book, BENCHMARKS.md).
    data->verify_checksums();
    if (const std::uint64_t examples = data->split("train").size();
        static_cast<std::uint64_t>(c.batch_size) > examples) {
      fail("--batch-size {} is larger than the {} training examples of {}: use at most {}", c.batch_size,
           examples, c.data_dir, examples);
    }
    fit_model_to_data(model_config, *data);
    model_config.validate();
    check_training_fits_in_memory(model_config, device);
    manifest_checksum = data->manifest().at("manifest_crc32c").get<std::string>();

    if (!flags.resume && main_rank) {
      std::error_code ec;
      if (fs::exists(run_dir) && !fs::is_empty(run_dir, ec)) {
        fail(
            "--out {} exists and is not empty; pass --resume to continue that run, or choose another "
            "directory",
            run_dir.string());
      }
      new_run_dir.create(run_dir);
      nlohmann::json stored = {
          {"lab_version", std::string(project_version())},
          {"git_commit", std::string(git_commit())},
          {"dataset", {{"dir", c.data_dir}, {"task", data->task()}, {"manifest_crc32c", manifest_checksum}}},
          {"model", model_config_to_json(model_config)},
          {"train", train_config_to_json(c)},
          {"parallelism", {{"workers", dist.world_size()}, {"threads_per_worker", torch::get_num_threads()}}},
          {"kernels", std::string(to_string(kernels()))}};
      write_file_atomically(config_file, stored.dump(2) + "\n");
    } else if (flags.resume) {
      if (resumed_config.at("dataset").at("manifest_crc32c").get<std::string>() != manifest_checksum) {
        fail("--resume: the dataset {} is not the one this run was trained on (manifest checksum differs)",
             c.data_dir);
      }
    }

    if (main_rank) {  // what a run killed mid-write left behind (checkpoint or config temporaries)
      remove_stale_temporaries(run_dir);
      remove_stale_temporaries(run_dir / "checkpoints");
    }
    torch::manual_seed(c.seed);
    model = Transformer(model_config, device);
    optimizer = make_optimizer(model, c);
    if (c.resume) {
      if (auto latest = latest_checkpoint(run_dir)) state = load_checkpoint(*latest, *model, *optimizer);
    }
  } catch (...) {
    setup_error = std::current_exception();
  }
  const std::int64_t checksum = setup_error ? 0 : checksum_value(manifest_checksum);
  const std::vector<std::int64_t> status = dist.max({setup_error ? 1 : 0, checksum, -checksum});
  if (setup_error) std::rethrow_exception(setup_error);
  if (status[0] != 0)
    fail("rank {}: stopped because another worker failed to start (see its error)", dist.rank());
  if (status[1] != -status[2]) {
    fail("rank {}: the workers read different datasets (the manifest checksums of --data {} differ)",
         dist.rank(), c.data_dir);
  }
  // Same seed, same weights; rank 0's are copied anyway so that no rank can start elsewhere.
  dist.broadcast(model->parameters());

  const DatasetSplit& train_split = data->split("train");
  Batcher batcher(train_split, c.batch_size, c.seed, c.loss_on);
  const std::int64_t total_steps =
      c.steps > 0
          ? c.steps
          : static_cast<std::int64_t>(std::ceil(c.epochs * static_cast<double>(batcher.batches_per_epoch())));
  std::optional<Batcher> eval_batcher;
  for (const std::string& name : data->split_names()) {
    if (name == "test") eval_batcher.emplace(data->split("test"), c.batch_size, c.seed, c.loss_on, 1);
  }

  const fs::path metrics_file = run_dir / "metrics.jsonl";
  if (c.resume && state.step >= total_steps) {
    // A finished run resumed (a requeued job, a repeated command): report it as it stands and change
    // nothing; evaluating and logging again would append a duplicate final line.
    TrainResult result;
    result.already_finished = true;
    result.steps = state.step;
    result.model = model_config;
    result.rank = dist.rank();
    result.world_size = dist.world_size();
    result.eval_loss = std::numeric_limits<double>::quiet_NaN();
    if (fs::exists(metrics_file)) {
      for (const nlohmann::json& line : read_jsonl_file(metrics_file)) {
        if (line.contains("loss")) result.train_loss = line.value("loss", 0.0);
        if (line.contains("eval_loss")) result.eval_loss = line.value("eval_loss", result.eval_loss);
      }
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
  }
  std::ofstream metrics;
  if (main_rank) {
    truncate_metrics(metrics_file, state.step);
    metrics.open(metrics_file, std::ios::app);
    if (!metrics) fail("cannot write {}", metrics_file.string());
  }
  auto log = [&](const nlohmann::json& line) {
    if (main_rank) metrics << line.dump() << '\n' << std::flush;
  };

  // Wall time spent training, carried across resumes by the checkpoints.
  const double seconds_before = state.seconds;
  const auto loop_start = std::chrono::steady_clock::now();
  auto training_seconds = [&] {
    return seconds_before +
           std::chrono::duration<double>(std::chrono::steady_clock::now() - loop_start).count();
  };
  auto run_probe = [&] {
    // Every rank probes and rank 0 logs: a rank that went on would wait for rank 0 in the next
    // collective, and a probe longer than LAB_DIST_TIMEOUT_S would fail the run.
    if (!hooks.probe) return;
    nlohmann::json line = {{"step", state.step}};
    const nlohmann::json metrics = hooks.probe(model, *data);
    for (const auto& [name, value] : metrics.items()) line["probe_" + name] = value;
    log(line);
  };

  install_interrupt_handlers();
  Progress progress("train", static_cast<std::uint64_t>(total_steps), quiet || !main_rank);
  const bool plain_log = !quiet && main_rank && !isatty(STDERR_FILENO);
  const int world = dist.world_size();
  std::int64_t epoch_in_plan = -1;
  std::vector<std::vector<std::uint64_t>> plan;
  std::vector<torch::Tensor> parameters = model->parameters();
  // The metrics window: sums since the last metrics.jsonl line (this worker's share of the losses),
  // restored from the checkpoint so that a resumed run logs what an uninterrupted one would.
  double window_loss = 0, window_aux = 0, window_lb = 0, window_z = 0, last_loss = 0;
  if (main_rank) {  // the stored sums are every worker's together
    window_loss = state.window_sums[0];
    window_aux = state.window_sums[1];
    window_lb = state.window_sums[2];
    window_z = state.window_sums[3];
  }
  std::int64_t window_steps = state.window_steps, window_tokens = state.window_tokens;
  auto window_start =
      std::chrono::steady_clock::now() - std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                             std::chrono::duration<double>(state.window_seconds));
  // Every worker calls it (the open window is summed over them); rank 0 writes.
  auto checkpoint = [&] {
    const std::vector<double> sums = dist.sum({window_loss, window_aux, window_lb, window_z});
    if (!main_rank) return;
    state.seconds = training_seconds();
    std::copy(sums.begin(), sums.end(), state.window_sums.begin());
    state.window_steps = window_steps;
    state.window_tokens = window_tokens;
    state.window_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
    save_checkpoint(run_dir, *model, *optimizer, state, c.keep_checkpoints);
  };
  model->train();

  for (std::int64_t step = state.step; step < total_steps; ++step) {
    const std::int64_t epoch = step / batcher.batches_per_epoch();
    if (epoch != epoch_in_plan) {
      plan = batcher.epoch_plan(epoch);
      epoch_in_plan = epoch;
    }
    // Every rank knows the global batch; it trains on its slice, normalised by the global count of
    // loss tokens, so the summed gradients are the single-worker gradient.
    const std::vector<std::uint64_t>& global_batch = plan[step % batcher.batches_per_epoch()];
    const BatchTokens global_tokens = batcher.count_tokens(global_batch);
    const std::vector<std::uint64_t> local = shard_of(global_batch, dist.rank(), world);
    const double lr = learning_rate(c.schedule, step, total_steps);
    for (auto& group : optimizer->param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);

    // This rank's shares of the logged losses: they add up over the ranks. The routers' auxiliary
    // losses are per-rank losses (each over the rank's own tokens) averaged over the ranks, so with
    // several workers an MoE's load-balancing and z-losses are not exactly the single worker's.
    double loss = 0, aux = 0, load_balance = 0, z = 0;
    optimizer->zero_grad();
    if (!local.empty()) {
      Batch batch = batcher.make_batch(local, device);
      StepLoss result = forward_loss(model, batch, c, device, global_tokens.loss_tokens);
      torch::Tensor aux_loss = world == 1 ? result.out.aux_loss : result.out.aux_loss / world;
      torch::Tensor objective = result.loss + aux_loss;
      objective.backward();
      loss = result.loss.item<double>();
      aux = aux_loss.item<double>();
      load_balance = result.out.load_balance_loss.item<double>() / world;
      z = result.out.z_loss.item<double>() / world;
    }
    // Gradients summed over the ranks (a no-op for one worker); a Ctrl-C on any rank stops all of them
    // after this step. Clipping sees the summed gradient, so every rank clips alike.
    const int stop_signal = dist.sum_gradients(parameters, pending_signal());
    const double grad_norm = torch::nn::utils::clip_grad_norm_(
        parameters, c.grad_clip > 0 ? c.grad_clip : std::numeric_limits<double>::infinity());
    if (!std::isfinite(loss) || !std::isfinite(grad_norm)) {
      auto latest = latest_checkpoint(run_dir);
      fail("the loss became {} at step {}: training stopped; the last good checkpoint is {}",
           std::isfinite(loss) ? "finite but the gradient norm is not" : fmt::format("{}", loss), step,
           latest ? latest->string() : "none (lower --lr or add --grad-clip)");
    }
    optimizer->step();
    state.step = step + 1;
    new_run_dir.keep();
    state.tokens_seen += global_tokens.input_tokens;

    window_loss += loss;
    window_aux += aux;
    window_lb += load_balance;
    window_z += z;
    window_tokens += global_tokens.input_tokens;
    ++window_steps;
    const bool last = state.step == total_steps;
    if (state.step % c.log_every == 0 || last) {
      const std::vector<double> window = dist.sum({window_loss, window_aux, window_lb, window_z});
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
      last_loss = window[0] / window_steps;
      nlohmann::json line = {{"step", state.step},
                             {"epoch", static_cast<double>(state.step) / batcher.batches_per_epoch()},
                             {"tokens", state.tokens_seen},
                             {"loss", last_loss},
                             {"aux_loss", window[1] / window_steps},
                             {"load_balance_loss", window[2] / window_steps},
                             {"z_loss", window[3] / window_steps},
                             {"lr", lr},
                             {"grad_norm", grad_norm},
                             {"tokens_per_s", window_tokens / std::max(seconds, 1e-9)},
                             {"seconds", training_seconds()}};
      log(line);
      if (plain_log) {
        std::cerr << fmt::format("step {}/{} loss {:.4f} lr {:.2e} {:.0f} tok/s\n", state.step, total_steps,
                                 last_loss, lr, window_tokens / std::max(seconds, 1e-9));
      }
      window_loss = window_aux = window_lb = window_z = 0;
      window_steps = window_tokens = 0;
      window_start = std::chrono::steady_clock::now();
    }
    if (stop_signal != 0 && !last) {
      checkpoint();
      if (pending_signal() == 0) {
        throw Interrupted(fmt::format("rank {}: stopped because another worker was interrupted", dist.rank()),
                          stop_signal);
      }
      throw Interrupted(
          fmt::format("interrupted ({}) at step {} of {}; a checkpoint was saved: `lab train "
                      "--data {} --out {} --resume` (or the same `lab run`) continues the run",
                      signal_name(stop_signal), state.step, total_steps, c.data_dir, run_dir.string()),
          stop_signal);
    }
    if (eval_batcher && c.eval_every > 0 && state.step % c.eval_every == 0 && !last) {
      log({{"step", state.step}, {"eval_loss", evaluate(model, *eval_batcher, c, device, dist)}});
    }
    if (c.probe_every > 0 && state.step % c.probe_every == 0 && !last) {
      run_probe();
      window_start = std::chrono::steady_clock::now();  // tokens/s counts training only
    }
    if (c.checkpoint_every > 0 && state.step % c.checkpoint_every == 0 && !last) checkpoint();
    progress.update(static_cast<std::uint64_t>(state.step));
  }
  progress.finish();

  TrainResult result;
  result.steps = state.step;
  result.model = model_config;
  result.rank = dist.rank();
  result.world_size = world;
  result.train_loss = last_loss;
  result.eval_loss = eval_batcher ? evaluate(model, *eval_batcher, c, device, dist)
                                  : std::numeric_limits<double>::quiet_NaN();
  if (eval_batcher) log({{"step", state.step}, {"eval_loss", result.eval_loss}});
  if (c.probe_every > 0) run_probe();
  checkpoint();
  dist.barrier();  // no worker reports success before rank 0 has saved
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace lab
