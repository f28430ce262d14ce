#include "trainer/train_config_json.h"

#include "core/error.h"

namespace lab {

nlohmann::json train_config_to_json(const TrainConfig& c) {
  return {{"data_dir", c.data_dir},
          {"batch_size", c.batch_size},
          {"steps", c.steps},
          {"epochs", c.epochs},
          {"schedule", to_string(c.schedule.kind)},
          {"lr", c.schedule.peak_lr},
          {"warmup", c.schedule.warmup},
          {"min_lr_ratio", c.schedule.min_lr_ratio},
          {"weight_decay", c.weight_decay},
          {"beta1", c.beta1},
          {"beta2", c.beta2},
          {"grad_clip", c.grad_clip},
          {"seed", c.seed},
          {"bf16", c.bf16},
          {"loss_on", c.loss_on == LossOn::answer ? "answer" : "all"},
          {"log_every", c.log_every},
          {"eval_every", c.eval_every},
          {"eval_batches", c.eval_batches},
          {"probe_every", c.probe_every},
          {"checkpoint_every", c.checkpoint_every},
          {"keep_checkpoints", c.keep_checkpoints},
          {"device", c.device}};
}

TrainConfig train_config_from_json(const nlohmann::json& j, const TrainConfig& flags,
                                   const std::string& source) {
  TrainConfig c;
  try {
    c.data_dir = j.at("data_dir").get<std::string>();
    c.batch_size = j.at("batch_size").get<std::int64_t>();
    c.steps = j.at("steps").get<std::int64_t>();
    c.epochs = j.at("epochs").get<double>();
    c.schedule.kind = parse_schedule_kind(j.at("schedule").get<std::string>());
    c.schedule.peak_lr = j.at("lr").get<double>();
    c.schedule.warmup = j.at("warmup").get<double>();
    c.schedule.min_lr_ratio = j.at("min_lr_ratio").get<double>();
    c.weight_decay = j.at("weight_decay").get<double>();
    c.beta1 = j.at("beta1").get<double>();
    c.beta2 = j.at("beta2").get<double>();
    c.grad_clip = j.at("grad_clip").get<double>();
    c.seed = j.at("seed").get<std::uint64_t>();
    c.bf16 = j.at("bf16").get<bool>();
    c.loss_on = j.at("loss_on").get<std::string>() == "all" ? LossOn::all : LossOn::answer;
    c.log_every = j.at("log_every").get<std::int64_t>();
    c.eval_every = j.at("eval_every").get<std::int64_t>();
    c.eval_batches = j.at("eval_batches").get<std::int64_t>();
    c.probe_every = j.value("probe_every", std::int64_t{0});  // runs from before probes existed
    c.checkpoint_every = j.at("checkpoint_every").get<std::int64_t>();
    c.keep_checkpoints = j.at("keep_checkpoints").get<int>();
    c.device = j.at("device").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    fail("{}: the training config is incomplete or has a wrong type ({})", source, e.what());
  }
  c.out_dir = flags.out_dir;
  c.resume = true;
  return c;
}

}  // namespace lab
