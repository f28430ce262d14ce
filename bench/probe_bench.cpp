// Probe decoding throughput: greedy answers per second with the KV cache against the same decoding
// recomputing the whole sequence at every step, measured in one run. A d_model 128, 4-layer, 4-head
// dense model (random weights: it never stops early, so every answer costs its full length) answers
// the 1000 held-out queries of a phone book (10 digits + <eos>) and of a shortest-path test split
// (8-16 vertices, paths up to the longest stored answer).
//
//   build/release/bench/probe_bench --threads 2
//
// `x_no_cache` on a cached case is its time over the uncached case's time, measured earlier in the
// same process. The phone-book cached case is the "recall over 1e3 queries in under 2 s".
// The probe_* cases time a whole probe (decode + score) of the same splits, without and with the
// predictions file's lines (built and serialized as `lab probe --predictions` writes them);
// `x_no_predictions` is the second over the first. The score_* cases time the scoring alone, with
// and without those lines: the absolute cost of --predictions.
#include <chrono>
#include <filesystem>
#include <map>
#include <string>

#include <benchmark/benchmark.h>
#include <unistd.h>

#include "bench/bench_support.h"
#include "core/blas_info.h"
#include "generators/dataset_reader.h"
#include "generators/dataset_writer.h"
#include "generators/graph_generator.h"
#include "generators/phonebook_generator.h"
#include "probes/decode.h"
#include "probes/probe.h"

namespace {

namespace fs = std::filesystem;

const fs::path& data_root() {
  static const fs::path root = fs::temp_directory_path() / ("lab_probe_bench_" + std::to_string(getpid()));
  return root;
}

// The test split of a freshly generated dataset (generated once per task).
const lab::Dataset& dataset(const std::string& task) {
  static std::map<std::string, lab::Dataset> cache;
  if (!cache.contains(task)) {
    const fs::path dir = data_root() / task;
    if (task == "phonebook") {
      lab::PhonebookParams p;
      p.entries = 10'000;
      p.test_count = 1'000;
      p.control_count = 10;
      lab::write_dataset(lab::PhonebookGenerator(p), {dir, false, 1, true});
    } else {
      lab::GraphParams p;
      p.train_count = 100;
      p.test_count = 1'000;
      lab::write_dataset(lab::GraphGenerator(p), {dir, false, 1, true});
    }
    cache.emplace(task, lab::Dataset::open(dir));
  }
  return cache.at(task);
}

// The benchmark's model (random weights, d 128, 4 layers, 4 heads) for `data`, long enough for its
// longest example.
lab::Transformer bench_model(const lab::Dataset& data) {
  std::int64_t longest = 0;
  for (const std::string& name : data.split_names()) {
    const lab::DatasetSplit& split = data.split(name);
    for (std::uint64_t i = 0; i < split.size(); ++i)
      longest = std::max<std::int64_t>(longest, split.example(i).tokens.size());
  }
  lab::ModelConfig c;
  c.vocab_size = static_cast<std::int64_t>(data.vocabulary().size());
  c.max_seq_len = longest;
  c.d_model = 128;
  c.layers = 4;
  c.heads = 4;
  torch::manual_seed(0);
  return lab::Transformer(c);
}

std::map<std::string, double> no_cache_seconds;  // per task

void decode(benchmark::State& state, const std::string& task, bool use_cache) {
  const lab::Dataset& data = dataset(task);
  const lab::DatasetSplit& test = data.split("test");
  std::vector<std::span<const lab::Token>> prompts;
  std::size_t longest_answer = 0;
  for (std::uint64_t i = 0; i < test.size(); ++i) {
    prompts.push_back(test.example(i).prompt());
    longest_answer = std::max(longest_answer, test.example(i).answer().size());
  }
  lab::Transformer model = bench_model(data);
  lab::DecodeOptions options{256, use_cache};
  lab::greedy_decode(model, prompts, static_cast<std::int64_t>(longest_answer), options);  // warm-up
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto answers = lab::greedy_decode(model, prompts, static_cast<std::int64_t>(longest_answer), options);
    benchmark::DoNotOptimize(answers.data());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
                         static_cast<double>(state.iterations());
  if (!use_cache) no_cache_seconds[task] = seconds;
  if (use_cache && no_cache_seconds.contains(task))
    state.counters["x_no_cache"] = seconds / no_cache_seconds[task];
  state.counters["answers/s"] =
      benchmark::Counter(static_cast<double>(prompts.size()), benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK_CAPTURE(decode, phonebook_no_cache, std::string("phonebook"), false)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(decode, phonebook_kv_cache, std::string("phonebook"), true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(decode, shortest_path_no_cache, std::string("shortest-path"), false)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(decode, shortest_path_kv_cache, std::string("shortest-path"), true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

std::map<std::string, double> probe_seconds;  // per task, without predictions

void probe(benchmark::State& state, const std::string& task, bool predictions) {
  const lab::Dataset& data = dataset(task);
  lab::Transformer model = bench_model(data);
  lab::ProbeOptions options;
  auto once = [&] {
    std::vector<nlohmann::json> lines;
    nlohmann::json result = lab::probe_model(model, data, options, predictions ? &lines : nullptr);
    std::string text;
    for (const nlohmann::json& line : lines) text += line.dump() + "\n";
    benchmark::DoNotOptimize(text.data());
    return result;
  };
  once();  // warm-up
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) benchmark::DoNotOptimize(once());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
                         static_cast<double>(state.iterations());
  if (!predictions) probe_seconds[task] = seconds;
  if (predictions && probe_seconds.contains(task))
    state.counters["x_no_predictions"] = seconds / probe_seconds[task];
}

// Scoring alone (the stored answers, no decoding), with and without the predictions' lines: the cost
// --predictions adds, free of the decoding's noise.
void score(benchmark::State& state, const std::string& task, bool predictions) {
  const lab::Dataset& data = dataset(task);
  std::vector<std::vector<lab::Token>> test_answers, control_answers;
  for (const char* name : {"test", "control"}) {
    if (task != "phonebook" && std::string(name) == "control") continue;
    const lab::DatasetSplit& split = data.split(name);
    auto& answers = std::string(name) == "test" ? test_answers : control_answers;
    for (std::uint64_t i = 0; i < split.size(); ++i) {
      auto a = split.example(i).answer();
      answers.emplace_back(a.begin(), a.end());
    }
  }
  const nlohmann::json parameters = {{"total", 1000}, {"active", 1000}};
  for (auto _ : state) {
    std::vector<nlohmann::json> lines;
    std::vector<nlohmann::json>* out = predictions ? &lines : nullptr;
    nlohmann::json result =
        task == "phonebook"
            ? lab::score_phonebook_answers(data, test_answers, control_answers, parameters, out)
            : lab::score_graph_answers(data, data.split("test"), test_answers, out);
    std::string text;
    for (const nlohmann::json& line : lines) text += line.dump() + "\n";
    benchmark::DoNotOptimize(text.data());
    benchmark::DoNotOptimize(result);
  }
}

BENCHMARK_CAPTURE(score, shortest_path, std::string("shortest-path"), false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(score, shortest_path_predictions, std::string("shortest-path"), true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(score, phonebook, std::string("phonebook"), false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(score, phonebook_predictions, std::string("phonebook"), true)
    ->Unit(benchmark::kMillisecond);

BENCHMARK_CAPTURE(probe, shortest_path, std::string("shortest-path"), false)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(probe, shortest_path_predictions, std::string("shortest-path"), true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(probe, phonebook, std::string("phonebook"), false)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(probe, phonebook_predictions, std::string("phonebook"), true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  lab::bench::BenchArgs args = lab::bench::take_bench_args(argc, argv);
  if (args.threads > 0) torch::set_num_threads(args.threads);
  benchmark::AddCustomContext("torch_threads", std::to_string(torch::get_num_threads()));
  benchmark::AddCustomContext("blas", lab::detect_blas().description);
  const int status = lab::bench::run_benchmarks(argc, argv);
  std::error_code ec;
  fs::remove_all(data_root(), ec);
  return status;
}
