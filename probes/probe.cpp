#include "probes/probe.h"

#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "core/atomic_file.h"
#include "core/build_info.h"
#include "core/error.h"
#include "core/json_file.h"
#include "core/run_files.h"
#include "generators/graph_generator.h"
#include "models/accounting.h"
#include "models/model_config_json.h"
#include "tasks/graph_task.h"
#include "tasks/phonebook_task.h"
#include "trainer/checkpoint.h"

namespace lab {
namespace fs = std::filesystem;
namespace {

double ratio(double part, double whole) { return whole > 0 ? part / whole : std::nan(""); }

// The vertices a prompt shows: the labels of its edges and of the query (isolated vertices that are
// not queried never appear in a prompt, so this is the graph size the model can see).
int nodes_in_prompt(const GraphQuestion& q) {
  std::set<int> labels{q.source, q.target};
  for (auto [u, v] : q.edges) labels.insert({u, v});
  return static_cast<int>(labels.size());
}

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

namespace {

// Counts per error class, with every class present (zeros too) so that tables line up.
template <typename Error, std::size_t N>
nlohmann::json error_counts(const std::map<std::string, long>& counts, const Error (&classes)[N],
                            const char* (*name)(Error)) {
  nlohmann::json out = nlohmann::json::object();
  for (Error e : classes) {
    auto it = counts.find(name(e));
    out[name(e)] = it == counts.end() ? 0 : it->second;
  }
  return out;
}

}  // namespace

nlohmann::json score_graph_answers(const Dataset& data, const DatasetSplit& split,
                                   std::span<const std::vector<Token>> answers,
                                   std::vector<nlohmann::json>* predictions) {
  const GraphFormat format = graph_format_of(data.manifest());
  const Vocabulary& vocabulary = data.vocabulary();
  const bool shortest = data.task() == TaskKind::shortest_path;
  struct Cell {
    long count = 0, valid = 0, exact = 0, first_hop = 0;
    std::map<std::string, long> errors;  // error class -> examples
  };
  std::map<int, Cell> by_nodes, by_length;  // shortest path: valid/exact; connectivity: valid = correct
  std::map<int, long> first_bad_hop;        // shortest path: hop of the first non-edge -> examples
  Cell all;
  ConnectivityTally tally;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    ExampleView ex = split.example(i);
    auto question = parse_graph_prompt(ex.prompt(), format);
    if (!question)
      fail("{}: example {} of split '{}' is not a graph prompt", data.dir().string(), i, split.name());
    const int nodes = nodes_in_prompt(*question);
    const int distance = static_cast<int>(ex.answer().size()) - 2;  // vertices + <eos> -> edges
    nlohmann::json verdict;
    if (shortest) {
      const PathScore s = score_shortest_path(*question, ex.answer(), answers[i]);
      const PathVerdict v = classify_path_answer(*question, ex.answer(), answers[i]);
      const std::string error = path_error_name(v.error);
      for (Cell* c : {&all, &by_nodes[nodes], &by_length[distance]}) {
        ++c->count;
        c->valid += s.valid;
        c->exact += s.exact;
        c->first_hop += s.first_hop;
        ++c->errors[error];
      }
      if (v.first_bad_hop > 0) ++first_bad_hop[v.first_bad_hop];
      verdict = {{"valid", s.valid}, {"exact", s.exact}, {"first_hop", s.first_hop}, {"error", error}};
      if (v.first_bad_hop > 0) verdict["first_bad_hop"] = v.first_bad_hop;
    } else {
      const bool correct = score_connectivity(ex.answer(), answers[i]);
      const std::string error =
          connectivity_error_name(classify_connectivity_answer(ex.answer(), answers[i]));
      tally.add(ex.answer().front() == graph_token::yes, correct);
      for (Cell* c : {&all, &by_nodes[nodes]}) {
        ++c->count;
        c->valid += correct;
        ++c->errors[error];
      }
      verdict = {{"correct", correct}, {"error", error}};
    }
    if (predictions) {
      nlohmann::json facts = {{"nodes", nodes}, {"edges", question->edges.size()}};
      if (shortest) {
        facts["distance"] = distance;
        facts["shortest_paths"] = count_shortest_paths(*question);
      } else {
        facts["connected"] = ex.answer().front() == graph_token::yes;
      }
      predictions->push_back({{"split", split.name()},
                              {"index", i},
                              {"prompt", vocabulary.render(ex.prompt())},
                              {"expected", vocabulary.render(ex.answer())},
                              {"decoded", vocabulary.render(answers[i])},
                              {"decoded_ids", answers[i]},
                              {"verdict", verdict},
                              {"facts", facts}});
    }
  }
  const auto n = static_cast<double>(answers.size());
  nlohmann::json result;
  auto& metrics = result[run_files::probe::kMetrics];
  auto& breakdown = result["breakdown"];
  auto& errors = result["errors"];
  metrics["examples"] = answers.size();
  if (shortest) {
    auto counts = [](const Cell& c) { return error_counts(c.errors, kPathErrors, path_error_name); };
    metrics["path_valid"] = ratio(all.valid, n);
    metrics["path_exact"] = ratio(all.exact, n);
    metrics["path_first_hop"] = ratio(all.first_hop, n);
    metrics["accuracy"] = metrics["path_valid"];
    for (PathError e : kPathErrors) {
      if (e != PathError::none)
        metrics[fmt::format("error_{}", path_error_name(e))] = ratio(all.errors[path_error_name(e)], n);
    }
    auto cell_json = [&](const Cell& c) {
      return nlohmann::json{{"count", c.count},
                            {"valid", ratio(c.valid, c.count)},
                            {"exact", ratio(c.exact, c.count)},
                            {"first_hop", ratio(c.first_hop, c.count)}};
    };
    for (const auto& [nodes, c] : by_nodes) breakdown["by_nodes"][std::to_string(nodes)] = cell_json(c);
    for (const auto& [edges, c] : by_length)
      breakdown["by_path_length"][std::to_string(edges)] = cell_json(c);
    errors["counts"] = counts(all);
    for (const auto& [nodes, c] : by_nodes) errors["by_nodes"][std::to_string(nodes)] = counts(c);
    for (const auto& [edges, c] : by_length) errors["by_path_length"][std::to_string(edges)] = counts(c);
    errors["first_bad_hop"] = nlohmann::json::object();
    for (const auto& [hop, count] : first_bad_hop) errors["first_bad_hop"][std::to_string(hop)] = count;
  } else {
    auto counts = [](const Cell& c) {
      return error_counts(c.errors, kConnectivityErrors, connectivity_error_name);
    };
    metrics["accuracy"] = tally.accuracy();
    metrics["balanced_accuracy"] = tally.balanced_accuracy();
    metrics["connected_share"] = ratio(tally.yes_total, n);
    for (ConnectivityError e : kConnectivityErrors) {
      if (e != ConnectivityError::none) {
        metrics[fmt::format("error_{}", connectivity_error_name(e))] =
            ratio(all.errors[connectivity_error_name(e)], n);
      }
    }
    // The balanced figures: how often each label is answered wrongly, among the pairs that carry it.
    metrics["false_yes_rate"] = ratio(all.errors["false_yes"], tally.no_total);
    metrics["false_no_rate"] = ratio(all.errors["false_no"], tally.yes_total);
    for (const auto& [nodes, c] : by_nodes) {
      breakdown["by_nodes"][std::to_string(nodes)] = {{"count", c.count},
                                                      {"accuracy", ratio(c.valid, c.count)}};
    }
    breakdown["by_label"] = {
        {"yes", {{"count", tally.yes_total}, {"recall", ratio(tally.yes_correct, tally.yes_total)}}},
        {"no", {{"count", tally.no_total}, {"recall", ratio(tally.no_correct, tally.no_total)}}}};
    errors["counts"] = counts(all);
    for (const auto& [nodes, c] : by_nodes) errors["by_nodes"][std::to_string(nodes)] = counts(c);
  }
  return result;
}

nlohmann::json score_phonebook_answers(const Dataset& data, std::span<const std::vector<Token>> test_answers,
                                       std::span<const std::vector<Token>> control_answers,
                                       const nlohmann::json& parameters,
                                       std::vector<nlohmann::json>* predictions) {
  const Vocabulary& vocabulary = data.vocabulary();
  struct Recall {
    double exact, per_digit;
    nlohmann::json errors;
  };
  auto recall = [&](const DatasetSplit& split, std::span<const std::vector<Token>> answers) {
    long exact = 0, digits = 0, malformed = 0;
    std::vector<long> digits_wrong(kPhoneDigits + 1, 0), wrong_at(kPhoneDigits, 0);
    for (std::size_t i = 0; i < answers.size(); ++i) {
      const ExampleView ex = split.example(i);
      const PhoneScore s = score_phone_number(ex.answer(), answers[i]);
      exact += s.exact;
      digits += s.digits_correct;
      malformed += s.malformed;
      ++digits_wrong[kPhoneDigits - s.digits_correct];
      std::vector<int> wrong_positions;
      for (int d = 0; d < kPhoneDigits; ++d) {
        if (!s.digit_correct[d]) {
          ++wrong_at[d];
          wrong_positions.push_back(d);
        }
      }
      if (predictions) {
        const auto prompt = ex.prompt();
        predictions->push_back(
            {{"split", split.name()},
             {"index", i},
             {"prompt", vocabulary.render(prompt)},
             {"expected", vocabulary.render(ex.answer())},
             {"decoded", vocabulary.render(answers[i])},
             {"decoded_ids", answers[i]},
             {"verdict",
              {{"exact", s.exact},
               {"digits_correct", s.digits_correct},
               {"wrong_positions", wrong_positions},
               {"malformed", s.malformed}}},
             {"facts",
              {{"name",
                prompt.size() >= 3 ? vocabulary.render(prompt.subspan(1, prompt.size() - 3)) : ""}}}});
      }
    }
    const auto n = static_cast<double>(answers.size());
    nlohmann::json histogram = nlohmann::json::object();
    for (int k = 0; k <= kPhoneDigits; ++k) histogram[std::to_string(k)] = digits_wrong[k];
    nlohmann::json errors = {{"counts",
                              {{"exact", exact},
                               {"wrong_digits", static_cast<long>(answers.size()) - exact - malformed},
                               {"malformed", malformed}}},
                             {"digits_wrong", histogram},
                             {"wrong_by_position", wrong_at}};
    return Recall{ratio(exact, n), ratio(digits, n * kPhoneDigits), std::move(errors)};
  };
  Recall test = recall(data.split("test"), test_answers);
  Recall control = recall(data.split("control"), control_answers);
  const auto entries = data.manifest().at("parameters").at("entries").get<double>();
  const double memorized = test.exact * entries;
  const double bits = memorized * bits_per_phone_number();
  nlohmann::json result;
  result[run_files::probe::kMetrics] = {
      {"examples", test_answers.size()},
      {"recall_exact", test.exact},
      {"recall_per_digit", test.per_digit},
      {"control_exact", control.exact},
      {"control_per_digit", control.per_digit},
      {"accuracy", test.exact},
      {"book_entries", entries},
      {"memorized_entries", memorized},
      {"bits_per_param_total", bits / parameters.at("total").get<double>()},
      {"bits_per_param_active", bits / parameters.at("active").get<double>()}};
  result["breakdown"] = nlohmann::json::object();
  result["errors"] = {{"test", test.errors}, {"control", control.errors}};
  return result;
}

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
  const ParameterCounts params = count_parameters(model->config());
  const nlohmann::json parameters = {{"total", params.total},
                                     {"active", params.active},
                                     {"non_embedding", params.non_embedding},
                                     {"active_non_embedding", params.active_non_embedding},
                                     {"embedding", params.embedding}};
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
