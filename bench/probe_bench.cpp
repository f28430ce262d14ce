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

std::map<std::string, double> no_cache_seconds;  // per task

void decode(benchmark::State& state, const std::string& task, bool use_cache) {
  const lab::Dataset& data = dataset(task);
  const lab::DatasetSplit& test = data.split("test");
  std::vector<std::span<const lab::Token>> prompts;
  std::size_t longest_answer = 0;
  std::int64_t longest = 0;
  for (std::uint64_t i = 0; i < test.size(); ++i) {
    prompts.push_back(test.example(i).prompt());
    longest_answer = std::max(longest_answer, test.example(i).answer().size());
    longest = std::max<std::int64_t>(longest, test.example(i).tokens.size());
  }
  lab::ModelConfig c;
  c.vocab_size = static_cast<std::int64_t>(data.vocabulary().size());
  c.max_seq_len = longest;
  c.d_model = 128;
  c.layers = 4;
  c.heads = 4;
  torch::manual_seed(0);
  lab::Transformer model(c);
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
