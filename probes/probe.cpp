#include "probes/probe.h"

#include <chrono>
#include <cmath>

#include "core/atomic_file.h"
#include "core/build_info.h"
#include "core/error.h"
#include "core/field_json.h"
#include "core/json_file.h"
#include "core/run_files.h"
#include "models/accounting.h"
#include "models/model_config_json.h"
#include "probes/scoring.h"
#include "trainer/checkpoint.h"

namespace lab {
namespace fs = std::filesystem;
namespace {

using scoring::ratio;

std::uint64_t examples_to_probe(const DatasetSplit& split, std::int64_t limit) {
  return limit > 0 ? std::min<std::uint64_t>(split.size(), static_cast<std::uint64_t>(limit)) : split.size();
}

std::size_t longest_answer(const DatasetSplit& split, std::uint64_t count) {
  std::size_t longest = 0;
  for (std::uint64_t i = 0; i < count; ++i) longest = std::max(longest, split.example(i).answer().size());
  return longest;
}

std::vector<std::vector<Token>> decode_split(Transformer& model, const DatasetSplit& split,
                                             std::uint64_t count, const DecodeOptions& options,
                                             RouterTally& tally) {
  std::vector<std::span<const Token>> prompts;
  prompts.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) prompts.push_back(split.example(i).prompt());
  return greedy_decode(model, prompts, static_cast<std::int64_t>(longest_answer(split, count)), options,
                       &tally);
}

// Mean length of the training examples (the sequence length the FLOP count uses), over at most
// the first 10^5 examples.
double mean_train_length(const Dataset& data) {
  const DatasetSplit& train = data.split("train");
  const std::uint64_t n = std::min<std::uint64_t>(train.size(), 100'000);
  double sum = 0;
  for (std::uint64_t i = 0; i < n; ++i) sum += static_cast<double>(train.example(i).tokens.size());
  return n > 0 ? sum / static_cast<double>(n) : 0;
}

std::int64_t step_of(const fs::path& checkpoint) {
  // step-00000100.safetensors (or .pt) -> 100
  const std::string stem = checkpoint.stem().string();
  try {
    return std::stoll(stem.substr(stem.find('-') + 1));
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace

double bits_per_phone_number() { return std::log2(4e9); }

nlohmann::json router_statistics(const RouterTally& tally) {
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t l = 0; l < tally.tokens_per_expert.size(); ++l) {
    const auto& counts = tally.tokens_per_expert[l];
    double total = 0, most = 0;
    for (auto c : counts) {
      total += static_cast<double>(c);
      most = std::max(most, static_cast<double>(c));
    }
    const double mean = total / static_cast<double>(counts.size());
    double load_entropy = 0;  // of the share of rows each expert took, normalised: 1 = perfectly even
    for (auto c : counts) {
      if (c > 0) load_entropy -= (c / total) * std::log(c / total);
    }
    layers.push_back({{"layer", l},
                      {"tokens_per_expert", counts},
                      {"imbalance", ratio(most, mean)},
                      {"load_entropy", counts.size() > 1 ? load_entropy / std::log(counts.size()) : 1.0},
                      {"routing_entropy", ratio(tally.entropy_sum[l], static_cast<double>(tally.tokens[l]))},
                      {"routing_entropy_max", std::log(static_cast<double>(counts.size()))}});
  }
  return layers;
}

nlohmann::json probe_model(Transformer& model, const Dataset& data, const ProbeOptions& options,
                           std::vector<nlohmann::json>* predictions) {
  const nlohmann::json parameters = fields_to_json(count_parameters(model->config()));
  const auto start = std::chrono::steady_clock::now();
  RouterTally tally;
  nlohmann::json result;
  std::uint64_t answered = 0;
  switch (data.task()) {
    case TaskKind::phonebook: {
      const DatasetSplit& test = data.split("test");
      const DatasetSplit& control = data.split("control");
      const std::uint64_t n_test = examples_to_probe(test, options.limit);
      const std::uint64_t n_control = examples_to_probe(control, options.limit);
      auto test_answers = decode_split(model, test, n_test, options.decode, tally);
      RouterTally control_tally;  // routers are reported on the book's names only
      auto control_answers = decode_split(model, control, n_control, options.decode, control_tally);
      result = score_phonebook_answers(data, test_answers, control_answers, parameters, predictions);
      answered = n_test + n_control;
      break;
    }
    case TaskKind::shortest_path:
    case TaskKind::connectivity:
    case TaskKind::two_hop: {
      const DatasetSplit& test = data.split("test");
      const std::uint64_t n = examples_to_probe(test, options.limit);
      auto answers = decode_split(model, test, n, options.decode, tally);
      result = data.task() == TaskKind::two_hop ? score_two_hop_answers(data, test, answers, predictions)
                                                : score_graph_answers(data, test, answers, predictions);
      answered = n;
      break;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result[run_files::probe::kTask] = data.task();
  result[run_files::probe::kParameters] = parameters;
  result["routers"] = router_statistics(tally);
  result["decode"] = {{"answers", answered},
                      {"seconds", seconds},
                      {"answers_per_second", ratio(static_cast<double>(answered), seconds)},
                      {"kv_cache", options.decode.use_cache},
                      {"batch_size", options.decode.batch_size}};
  return result;
}

TrainHooks periodic_probe_hooks(std::int64_t examples) {
  TrainHooks hooks;
  hooks.probe = [examples](Transformer& model, const Dataset& data) {
    ProbeOptions options;
    options.limit = examples;
    return probe_model(model, data, options).at(run_files::probe::kMetrics);
  };
  return hooks;
}

nlohmann::json probe_run(const fs::path& run_dir, const ProbeOptions& options, const fs::path& checkpoint) {
  namespace key = run_files::config;
  const fs::path config_file = run_dir / run_files::kConfig;
  const nlohmann::json config = read_json_file(config_file);
  ModelConfig model_config;
  std::string data_dir, expected_checksum, device_name;
  try {
    model_config = model_config_from_json(config.at(key::kModel), config_file.string());
    data_dir = config.at(key::kDataset).at(key::kDatasetDir).get<std::string>();
    expected_checksum = config.at(key::kDataset).at(key::kDatasetChecksum).get<std::string>();
    device_name = config.at(key::kTrain).value("device", "cpu");
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not a run's config ({})", config_file.string(), e.what());
  }
  if (!options.predictions.empty()) {
    const fs::path parent = fs::absolute(options.predictions).parent_path();
    if (!fs::is_directory(parent)) {
      fail("--predictions {}: the directory {} does not exist; create it or name another file",
           options.predictions.string(), parent.string());
    }
  }
  fs::path weights = checkpoint;
  if (weights.empty()) {
    auto latest = latest_checkpoint(run_dir);
    if (!latest)
      fail("{}: the run has no checkpoint yet (train it first, or wait for its first checkpoint)",
           run_dir.string());
    weights = *latest;
  }
  Dataset data = Dataset::open(data_dir);
  if (data.manifest().at("manifest_crc32c").get<std::string>() != expected_checksum) {
    fail(
        "{}: the dataset {} has changed since the run was trained on it (manifest checksum differs); "
        "regenerate it with the same parameters or probe another run",
        run_dir.string(), data_dir);
  }
  const torch::Device device(device_name);
  Transformer model(model_config, device);
  load_model_weights(weights, *model);

  std::vector<nlohmann::json> predictions;
  nlohmann::json result =
      probe_model(model, data, options, options.predictions.empty() ? nullptr : &predictions);
  const double mean_length = mean_train_length(data);
  result[run_files::probe::kRun] = {
      {"dir", run_dir.string()},
      {"checkpoint", weights.filename().string()},
      {"step", step_of(weights)},
      {"dataset", data_dir},
      {"mean_train_length", mean_length},
      {"training_flops_per_token",
       count_flops(model_config, static_cast<std::int64_t>(std::lround(mean_length))).training}};
  result["lab_version"] = std::string(project_version());
  result["limit"] = options.limit;
  if (!options.predictions.empty()) {
    std::string lines;
    for (const nlohmann::json& line : predictions) lines += line.dump() + "\n";
    write_file_atomically(options.predictions, lines);
    result["predictions"] = {{"file", options.predictions.string()}, {"lines", predictions.size()}};
  }
  write_file_atomically(run_dir / run_files::kProbe, result.dump(2) + "\n");
  return result;
}

}  // namespace lab
