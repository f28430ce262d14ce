#include "trainer/training_loop.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>

#include <fmt/format.h>
#include <unistd.h>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/run_files.h"
#include "models/autocast.h"
#include "trainer/batch_parts.h"
#include "trainer/lr_schedule.h"
#include "trainer/router_load.h"
#include "trainer/run_directory.h"

namespace lab {
namespace fs = std::filesystem;
namespace metric = run_files::metrics;
namespace {

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

// Every number of a metrics.jsonl line as a TensorBoard scalar at its step, tagged by its key; the
// router array as router/layerL/{imbalance, idle_experts, routing_entropy} and
// router/layerL/expert_share/E.
void write_scalars(TensorBoardWriter& tensorboard, const nlohmann::json& line) {
  const std::int64_t step = line.at(metric::kStep).get<std::int64_t>();
  const double now = unix_seconds_now();
  for (const auto& [key, value] : line.items()) {
    if (key == metric::kStep) continue;
    if (value.is_number()) tensorboard.add_scalar(key, step, value.get<double>(), now);
  }
  if (line.contains(metric::kRouter)) {
    for (const nlohmann::json& layer : line.at(metric::kRouter)) {
      const std::string prefix = fmt::format("router/layer{}/", layer.at("layer").get<int>());
      for (const char* key : {metric::kRouterImbalance, metric::kRouterIdleExperts, metric::kRouterEntropy}) {
        tensorboard.add_scalar(prefix + key, step, layer.at(key).get<double>(), now);
      }
      const nlohmann::json& share = layer.at(metric::kRouterExpertShare);
      const int width = static_cast<int>(fmt::format("{}", share.size() - 1).size());
      for (std::size_t e = 0; e < share.size(); ++e) {
        tensorboard.add_scalar(fmt::format("{}{}/{:0{}}", prefix, metric::kRouterExpertShare, e, width), step,
                               share[e].get<double>(), now);
      }
    }
  }
  tensorboard.flush();
}

}  // namespace

TrainingLoop::TrainingLoop(const TrainConfig& c, torch::Device device, Distributed& dist, OpenRun& run,
                           const Batcher& batcher, const Batcher* eval_batcher, std::int64_t total_steps,
                           const TrainHooks& hooks, bool quiet)
    : c_(c),
      device_(device),
      dist_(dist),
      run_(run),
      state_(run.state),
      batcher_(batcher),
      eval_batcher_(eval_batcher),
      total_steps_(total_steps),
      hooks_(hooks),
      run_dir_(c.out_dir),
      plain_log_(!quiet && dist.is_main() && !isatty(STDERR_FILENO)),
      parameters_(run.model->parameters()),
      window_(run.state, dist.is_main(), router_tally_size(run.model->config())),
      seconds_before_(run.state.seconds) {
  if (dist_.is_main()) {
    const fs::path metrics_file = run_dir_ / run_files::kMetrics;
    truncate_metrics(metrics_file, state_.step);
    metrics_.open(metrics_file, std::ios::app);
    if (!metrics_) fail("cannot write {}", metrics_file.string());
    tensorboard_.emplace(run_dir_ / run_files::kTensorBoard);
    // A resumed run (even one resumed at step 0) logs the steps after its checkpoint again:
    // TensorBoard drops what the earlier files logged from there on.
    if (c.resume) tensorboard_->add_session_start(state_.step + 1, unix_seconds_now());
  }
  run_.model->train();
}

int TrainingLoop::step() {
  const std::int64_t step = state_.step;
  lr_ = learning_rate(c_.schedule, step, total_steps_);
  for (auto& group : run_.optimizer->param_groups())
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr_);
  const std::vector<std::uint64_t>& global_batch = batch_of(step);
  const BatchTokens global_tokens = batcher_.count_tokens(global_batch);
  run_.optimizer->zero_grad();
  const StepLosses losses = backward(shard_of(global_batch, dist_.rank(), dist_.world_size()), global_tokens);
  // Gradients summed over the ranks (a no-op for one worker); a Ctrl-C on any rank stops all of them
  // after this step. Clipping sees the summed gradient, so every rank clips alike.
  const int stop_signal = dist_.sum_gradients(parameters_, pending_signal());
  grad_norm_ = torch::nn::utils::clip_grad_norm_(
      parameters_, c_.grad_clip > 0 ? c_.grad_clip : std::numeric_limits<double>::infinity());
  const double loss = losses.values[0];
  if (!std::isfinite(loss) || !std::isfinite(grad_norm_)) {
    auto latest = latest_checkpoint(run_dir_);
    fail("the loss became {} at step {}: training stopped; the last good checkpoint is {}",
         std::isfinite(loss) ? "finite but the gradient norm is not" : fmt::format("{}", loss), step,
         latest ? latest->string() : "none (lower --lr or add --grad-clip)");
  }
  run_.optimizer->step();
  state_.step = step + 1;
  state_.tokens_seen += global_tokens.input_tokens;
  window_.add(losses, global_tokens.input_tokens);
  return stop_signal;
}

void TrainingLoop::log_window() {
  const MetricsWindow::Means means = window_.close(dist_);
  last_loss_ = means.losses[0];
  nlohmann::json line = {{metric::kStep, state_.step},
                         {metric::kEpoch, static_cast<double>(state_.step) / batcher_.batches_per_epoch()},
                         {metric::kTokens, state_.tokens_seen},
                         {metric::kLoss, means.losses[0]},
                         {metric::kAuxLoss, means.losses[1]},
                         {metric::kLoadBalanceLoss, means.losses[2]},
                         {metric::kZLoss, means.losses[3]},
                         {metric::kLearningRate, lr_},
                         {metric::kGradNorm, grad_norm_},
                         {metric::kTokensPerSecond, means.tokens_per_s},
                         {metric::kSeconds, training_seconds()}};
  if (!means.router.empty()) {
    line[metric::kRouter] = router_load_json(means.router, run_.model->config().moe_experts());
  }
  log(line);
  if (plain_log_) {
    std::cerr << fmt::format("step {}/{} loss {:.4f} lr {:.2e} {:.0f} tok/s\n", state_.step, total_steps_,
                             means.losses[0], lr_, means.tokens_per_s);
  }
}

double TrainingLoop::log_eval() {
  if (!eval_batcher_) return std::numeric_limits<double>::quiet_NaN();
  const double loss = evaluate(run_.model, *eval_batcher_, c_, device_, dist_);
  log({{metric::kStep, state_.step}, {metric::kEvalLoss, loss}});
  return loss;
}

void TrainingLoop::probe() {
  if (!hooks_.probe) return;
  nlohmann::json line = {{metric::kStep, state_.step}};
  const nlohmann::json metrics = hooks_.probe(run_.model, *run_.data);
  for (const auto& [name, value] : metrics.items()) {
    line[metric::kProbePrefix + name] = value;
  }
  log(line);
  window_.restart_clock();
}

void TrainingLoop::checkpoint() {
  window_.save(dist_, state_);
  if (!dist_.is_main()) return;
  state_.seconds = training_seconds();
  save_checkpoint(run_dir_, *run_.model, *run_.optimizer, state_, c_.keep_checkpoints);
}

void TrainingLoop::stop(int signal) {
  checkpoint();
  if (pending_signal() == 0) {
    throw Interrupted(fmt::format("rank {}: stopped because another worker was interrupted", dist_.rank()),
                      signal);
  }
  throw Interrupted(
      fmt::format("interrupted ({}) at step {} of {}; a checkpoint was saved: `lab train "
                  "--data {} --out {} --resume` (or the same `lab run`) continues the run",
                  signal_name(signal), state_.step, total_steps_, c_.data_dir, run_dir_.string()),
      signal);
}

const std::vector<std::uint64_t>& TrainingLoop::batch_of(std::int64_t step) {
  const std::int64_t epoch = step / batcher_.batches_per_epoch();
  if (epoch != epoch_in_plan_) {
    plan_ = batcher_.epoch_plan(epoch);
    epoch_in_plan_ = epoch;
  }
  return plan_[step % batcher_.batches_per_epoch()];
}

StepLosses TrainingLoop::backward(const std::vector<std::uint64_t>& local, const BatchTokens& global_tokens) {
  StepLosses losses;
  if (local.empty()) return losses;
  const int parts = batch_parts(device_, local.size());
  // The routers' auxiliary losses are averaged over every part of every rank.
  const double shares = static_cast<double>(dist_.world_size()) * parts;
  losses.router.assign(router_tally_size(run_.model->config()), 0.0);
  // One part's forward, its objective and its losses, added to `into`.
  const auto forward_part = [&](const std::vector<std::uint64_t>& examples, StepLosses& into) {
    Batch batch = batcher_.make_batch(examples, device_);
    StepLoss result = forward_loss(run_.model, batch, c_, device_, global_tokens.loss_tokens);
    torch::Tensor aux_loss = shares == 1 ? result.out.aux_loss : result.out.aux_loss / shares;
    into.values[0] += result.loss.item<double>();
    into.values[1] += aux_loss.item<double>();
    into.values[2] += result.out.load_balance_loss.item<double>() / shares;
    into.values[3] += result.out.z_loss.item<double>() / shares;
    add_router_tally(into.router, result.out, batch.inputs.numel());
    return result.loss + aux_loss;
  };
  if (parts == 1) {
    forward_part(local, losses).backward();
    return losses;
  }

  // One part per thread (trainer/batch_parts.h).
  std::vector<StepLosses> part_losses(parts, losses);
  backward_in_parts(parts, parameters_,
                    [&](int i) { return forward_part(shard_of(local, i, parts), part_losses[i]); });
  for (const StepLosses& part : part_losses) {
    for (std::size_t k = 0; k < losses.values.size(); ++k) losses.values[k] += part.values[k];
    for (std::size_t k = 0; k < losses.router.size(); ++k) losses.router[k] += part.router[k];
  }
  return losses;
}

void TrainingLoop::log(const nlohmann::json& line) {
  if (!dist_.is_main()) return;
  metrics_ << line.dump() << '\n' << std::flush;
  write_scalars(*tensorboard_, line);
}

double TrainingLoop::training_seconds() const {
  return seconds_before_ +
         std::chrono::duration<double>(std::chrono::steady_clock::now() - loop_start_).count();
}

}  // namespace lab
