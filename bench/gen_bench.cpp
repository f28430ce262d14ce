// Dataset generation throughput: sample + ground truth + serialize + write, end to end through
// write_dataset, against the Python peers (networkx graphs, a Python phone book) run in the same
// process run, so the ratios compare like with like on a noisy machine.
//
//   build/release/bench/gen_bench --threads 2
//   (the peers need python3-networkx: `bash scripts/setup.sh --peers`)
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <regex>
#include <string>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench/bench_support.h"
#include "generators/dataset_reader.h"
#include "generators/dataset_writer.h"
#include "generators/graph_generator.h"
#include "generators/phonebook_generator.h"
#include "generators/two_hop_generator.h"

namespace {

namespace fs = std::filesystem;

int g_threads = 2;
double g_peer_shortest_path = 0;  // examples/s of ../shared/peers/nx_graph_peer.py
double g_peer_connectivity = 0;
double g_peer_two_hop_16 = 0;  // ../shared/peers/nx_two_hop_peer.py at |V| = 16
double g_peer_two_hop_32 = 0;
double g_peer_phonebook_seconds = 0;  // seconds of ../shared/peers/phonebook_peer.py for 3e6 entries

double find_number(const std::string& text, const std::string& pattern) {
  std::smatch match;
  if (std::regex_search(text, match, std::regex(pattern))) return std::stod(match[1]);
  return 0;
}

fs::path fresh_dir(std::string_view name) {
  fs::path dir = fs::temp_directory_path() / fmt::format("lab_gen_bench_{}{}", getpid(), name);
  fs::remove_all(dir);
  return dir;
}

void write_and_time(benchmark::State& state, const lab::Generator& generator, std::uint64_t examples,
                    double peer_rate) {
  fs::path dir = fresh_dir(lab::enum_name(generator.task()));
  for (auto _ : state) {
    lab::write_dataset(generator, {dir, /*force=*/true, g_threads, /*quiet=*/true});
  }
  fs::remove_all(dir);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * examples));
  if (peer_rate > 0) {
    // A rate counter: (examples / peer rate) / seconds = our rate / the peer's rate.
    state.counters["x_peer"] = benchmark::Counter(
        static_cast<double>(state.iterations() * examples) / peer_rate, benchmark::Counter::kIsRate);
  }
}

void shortest_path(benchmark::State& state) {
  lab::GraphParams params;
  params.train_count = static_cast<std::uint64_t>(state.range(0));
  params.test_count = 1;  // the fewest a dataset holds
  write_and_time(state, lab::GraphGenerator(params), params.train_count, g_peer_shortest_path);
}

void connectivity(benchmark::State& state) {
  lab::GraphParams params;
  params.task = lab::TaskKind::connectivity;
  params.degree = 1.5;
  params.train_count = static_cast<std::uint64_t>(state.range(0));
  params.test_count = 1;  // the fewest a dataset holds
  write_and_time(state, lab::GraphGenerator(params), params.train_count, g_peer_connectivity);
}

// Two-hop questions at |V| = range(1) (its default degree |V| / 8), as the peer draws them.
void two_hop(benchmark::State& state) {
  lab::TwoHopParams params;
  params.train_count = static_cast<std::uint64_t>(state.range(0));
  params.test_count = 1;  // the fewest a dataset holds
  params.vertices = static_cast<int>(state.range(1));
  write_and_time(state, lab::TwoHopGenerator(params), params.train_count,
                 params.vertices == 16   ? g_peer_two_hop_16
                 : params.vertices == 32 ? g_peer_two_hop_32
                                         : 0);
}

void phonebook(benchmark::State& state) {
  lab::PhonebookParams params;
  params.entries = static_cast<std::uint64_t>(state.range(0));
  lab::PhonebookGenerator generator(params);
  write_and_time(state, generator, params.entries + params.test_count + params.control_count, 0);
  if (g_peer_phonebook_seconds > 0 && params.entries == 3'000'000) {
    // Peer seconds / our seconds per iteration, as an inverse-rate counter.
    state.counters["x_peer"] = benchmark::Counter(
        g_peer_phonebook_seconds * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["peak_rss_MiB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// What `lab train` pays to check a dataset before training (Dataset::open and verify_checksums: the
// CRC-32C of every file), on the largest datasets the presets use, written once and so in the page
// cache. bytes_per_second counts every file's bytes.
void open_and_verify(benchmark::State& state, const lab::Generator& generator) {
  fs::path dir = fresh_dir(fmt::format("verify_{}", lab::enum_name(generator.task())));
  lab::write_dataset(generator, {dir, /*force=*/true, g_threads, /*quiet=*/true});
  std::int64_t bytes = 0;
  for (const auto& entry : fs::directory_iterator(dir)) bytes += static_cast<std::int64_t>(entry.file_size());
  for (auto _ : state) {
    lab::Dataset dataset = lab::Dataset::open(dir);
    dataset.verify_checksums();
    benchmark::DoNotOptimize(dataset.split("train").size());
  }
  fs::remove_all(dir);
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["MiB"] = static_cast<double>(bytes) / (1 << 20);
}

void verify_phonebook(benchmark::State& state) {
  lab::PhonebookParams params;
  params.entries = static_cast<std::uint64_t>(state.range(0));
  open_and_verify(state, lab::PhonebookGenerator(params));
}

void verify_shortest_path(benchmark::State& state) {
  lab::GraphParams params;
  params.train_count = static_cast<std::uint64_t>(state.range(0));
  open_and_verify(state, lab::GraphGenerator(params));
}

BENCHMARK(shortest_path)->Arg(200'000)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(connectivity)->Arg(200'000)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(two_hop)
    ->Args({200'000, 16})
    ->Args({200'000, 32})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK(phonebook)->Arg(3'000'000)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK(verify_phonebook)->Arg(3'000'000)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);
BENCHMARK(verify_shortest_path)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

void run_peers() {
  const char* peers = "../shared/peers";
  for (const char* candidate : {"../shared/peers", "../../shared/peers", "../../../shared/peers"}) {
    if (fs::exists(fs::path(candidate) / "nx_graph_peer.py")) peers = candidate;
  }
  std::string graphs =
      lab::bench::run_command(std::string("/usr/bin/python3 ") + peers + "/nx_graph_peer.py 20000 2>&1");
  g_peer_shortest_path = find_number(graphs, R"(shortest_path: (\d+) examples/s)");
  g_peer_connectivity = find_number(graphs, R"(connectivity: (\d+) examples/s)");
  for (auto [vertices, rate] : {std::pair{16, &g_peer_two_hop_16}, std::pair{32, &g_peer_two_hop_32}}) {
    std::string out = lab::bench::run_command(fmt::format("/usr/bin/python3 {}/nx_two_hop_peer.py {} {} 2>&1",
                                                          peers, vertices == 16 ? 20000 : 5000, vertices));
    *rate = find_number(out, R"(two_hop\(\|V\|=\d+\): (\d+) examples/s)");
    benchmark::AddCustomContext(fmt::format("peer_two_hop_{}_per_s", vertices), std::to_string(*rate));
  }
  std::string book =
      lab::bench::run_command(std::string("/usr/bin/python3 ") + peers + "/phonebook_peer.py 3000000 2>&1");
  g_peer_phonebook_seconds = find_number(book, R"(phonebook 3000000: ([\d.]+) s)");
  benchmark::AddCustomContext("peer_shortest_path_per_s", std::to_string(g_peer_shortest_path));
  benchmark::AddCustomContext("peer_connectivity_per_s", std::to_string(g_peer_connectivity));
  benchmark::AddCustomContext("peer_phonebook_3e6_s", std::to_string(g_peer_phonebook_seconds));
  if (g_peer_shortest_path == 0) {
    std::fprintf(stderr,
                 "gen_bench: the Python peers did not run (install python3-networkx); no ratios\n%s\n",
                 graphs.c_str());
  }
}

}  // namespace

// `--threads N` (default 2) sets the generator threads; `--no-peers` skips the Python peers.
int main(int argc, char** argv) {
  lab::bench::BenchArgs args = lab::bench::take_bench_args(argc, argv);
  if (args.threads > 0) g_threads = args.threads;
  benchmark::AddCustomContext("generator_threads", std::to_string(g_threads));
  if (args.peers) run_peers();
  return lab::bench::run_benchmarks(argc, argv);
}
