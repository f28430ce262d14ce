// Whole training steps (forward, cross-entropy + router losses, backward, AdamW) of the transformer on
// the configuration of ../shared/peers/torch_gpt_peer.py: vocabulary 64, sequence 64, batch 64,
// d_model 256, 4 layers, 4 heads, d_ff 256, random tokens. The peer (plain PyTorch, Python MoE loop)
// runs in the same process run with the same configurations, so `x_peer` is a like-for-like ratio.
//
//   build/release/bench/train_bench --threads 2          (the peer needs python3-torch)
//
// Also reports model FLOP utilisation: training FLOPs per token (models/accounting.h) x tokens/s
// over the fp32 or bf16 GEMM peak, measured at start-up as bench/gemm_bench measures it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <regex>
#include <string>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <torch/csrc/autograd/profiler_legacy.h>

#include "bench/bench_support.h"
#include "models/accounting.h"
#include "models/autocast.h"
#include "models/transformer.h"

namespace {

// The GEMM peaks MFU divides by, measured at start-up like bench/gemm_bench (1024^3, this run's
// threads): hosts differ by up to 2.8x (BENCHMARKS.md), so a constant from another day would not do.
double g_gemm_peak_fp32 = 0, g_gemm_peak_bf16 = 0;
int g_threads = 2;
bool g_peers = true;
std::map<std::string, double> g_peer_rates;  // case name -> the peer's tokens/s, measured before the cases

// One benchmark case: the model's shape, the batch and whether the peer runs it too.
struct Shape {
  std::int64_t vocab = 64, seq = 64, batch = 64, d = 256, layers = 4, heads = 4, ff = 256;
  lab::PositionKind positions = lab::PositionKind::learned;  // learned: as the peer
};

struct Case {
  const char* name;
  std::int64_t experts, top_k, width;  // experts == 0: dense
  bool bf16;
  int peer_steps;  // timed steps of the (slow) peer; 0: no peer (it has no such model)
  Shape shape = {};
};

// The shapes of the lab's CPU presets (issue 17): d16-d128, 2-3 layers, 4 heads, sequences of 25-40
// tokens over a vocabulary of 32, batches of 64, d_ff = d_model.
constexpr Shape small(std::int64_t d, std::int64_t layers = 3, std::int64_t seq = 40,
                      lab::PositionKind positions = lab::PositionKind::learned) {
  return Shape{32, seq, 64, d, layers, 4, d, positions};
}

double peer_tokens_per_s(const Case& c) {
  if (!g_peers || c.peer_steps == 0) return 0;
  const Shape& s = c.shape;
  std::string args = fmt::format(" --V {} --T {} --batch {} --d {} --L {} --h {} --ff {}", s.vocab, s.seq,
                                 s.batch, s.d, s.layers, s.heads, c.experts == 0 ? s.ff : c.width);
  if (c.experts > 0) args += fmt::format(" --E {} --k {}", c.experts, c.top_k);
  std::string command;
  for (const char* prefix : {"", "../", "../../", "../../../"}) {
    std::string path = std::string(prefix) + "../shared/peers/torch_gpt_peer.py";
    if (FILE* f = std::fopen(path.c_str(), "r")) {
      std::fclose(f);
      command = fmt::format("/usr/bin/python3 {} --threads {} --steps {}{}{} 2>&1", path, g_threads,
                            c.peer_steps, args, c.bf16 ? " --bf16" : "");
      break;
    }
  }
  if (command.empty()) {
    std::fprintf(stderr, "train_bench: ../shared/peers/torch_gpt_peer.py not found from here; no ratios\n");
    return 0;
  }
  std::smatch match;
  std::string out = lab::bench::run_command(command);
  if (std::regex_search(out, match, std::regex(R"(tokens_per_s=(\d+))"))) return std::stod(match[1]);
  std::fprintf(stderr, "train_bench: the peer did not run: %s\n", out.c_str());
  return 0;
}

// A model, its optimizer and a batch of random tokens of one case, and its training step.
struct Setup {
  lab::ModelConfig config;
  lab::Transformer model{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer;
  torch::Tensor inputs, targets;  // [B, T]
};

Setup make_setup(const Case& c) {
  const Shape& s = c.shape;
  const std::int64_t kVocab = s.vocab, kSeq = s.seq, kBatch = s.batch;
  lab::ModelConfig config;
  config.vocab_size = kVocab;
  config.max_seq_len = kSeq;
  config.d_model = s.d;
  config.layers = s.layers;
  config.heads = s.heads;
  config.d_ff = s.ff;
  config.positions = s.positions;
  if (c.experts > 0) {
    config.ffn = lab::FfnKind::moe;
    config.experts = c.experts;
    config.top_k = c.top_k;
    config.expert_width = c.width;
  }
  torch::manual_seed(0);
  Setup setup{config, lab::Transformer(config), nullptr, {}, {}};
  setup.optimizer = std::make_unique<torch::optim::AdamW>(setup.model->parameters(),
                                                          torch::optim::AdamWOptions(1e-3).weight_decay(0.1));
  torch::Tensor x = torch::randint(0, kVocab, {kBatch, kSeq + 1});
  setup.inputs = x.slice(1, 0, kSeq);
  setup.targets = x.slice(1, 1);
  return setup;
}

void step(Setup& s, const Case& c) {
  lab::TransformerOutput out;
  {
    lab::AutocastGuard autocast(torch::kCPU, torch::kBFloat16, c.bf16);
    out = s.model->forward(s.inputs);
  }
  torch::Tensor loss =
      torch::nn::functional::cross_entropy(out.logits.to(torch::kFloat32).reshape({-1, s.config.vocab_size}),
                                           s.targets.reshape(-1)) +
      out.aux_loss;
  s.optimizer->zero_grad();
  loss.backward();
  s.optimizer->step();
}

void train_step(benchmark::State& state, Case c) {
  Setup s = make_setup(c);
  for (int i = 0; i < 3; ++i) step(s, c);  // warm-up, as the peer
  for (auto _ : state) step(s, c);
  const std::int64_t kSeq = c.shape.seq, kBatch = c.shape.batch;
  const double tokens = static_cast<double>(kBatch * kSeq);
  state.SetItemsProcessed(state.iterations() * kBatch * kSeq);
  const double flops = lab::count_flops(s.config, kSeq).training;  // per token
  state.counters["MFU"] = benchmark::Counter(flops * tokens / (c.bf16 ? g_gemm_peak_bf16 : g_gemm_peak_fp32),
                                             benchmark::Counter::kIsIterationInvariantRate);
  if (double peer = g_peer_rates[c.name]; peer > 0) {
    state.counters["peer_tok/s"] = peer;
    state.counters["x_peer"] =
        benchmark::Counter(tokens / peer, benchmark::Counter::kIsIterationInvariantRate);
  }
}

// FLOP/s of the best of 20 1024^3 products, after a warm-up (oneDNN builds its bf16 kernels then).
double gemm_peak(torch::Dtype dtype) {
  const std::int64_t n = 1024;
  torch::Tensor a = torch::randn({n, n}).to(dtype), b = torch::randn({n, n}).to(dtype);  // [n, n]
  torch::Tensor c = torch::mm(a, b);
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < 20; ++i) {
    const auto start = std::chrono::steady_clock::now();
    c = torch::mm(a, b);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return 2.0 * n * n * n / best;
}

const Case kCases[] = {
    {"dense_fp32", 0, 0, 0, false, 10},
    {"dense_bf16", 0, 0, 0, true, 10},
    {"moe_8e_top1_fp32", 8, 1, 256, false, 5},
    {"moe_32e_top4_w64_fp32", 32, 4, 64, false, 3},
    {"moe_64e_top8_w32_fp32", 64, 8, 32, false, 2},
    {"moe_8e_top1_bf16", 8, 1, 256, true, 5},
    // The small shapes of the CPU presets (issue 17).
    {"small_d16_fp32", 0, 0, 0, false, 40, small(16)},
    {"small_d32_fp32", 0, 0, 0, false, 40, small(32)},
    {"small_d64_fp32", 0, 0, 0, false, 40, small(64)},
    {"small_d64_rope_fp32", 0, 0, 0, false, 0, small(64, 3, 40, lab::PositionKind::rope)},
    {"small_d128_fp32", 0, 0, 0, false, 20, small(128)},
    {"small_phonebook_d64_fp32", 0, 0, 0, false, 40, small(64, 2, 25)},
    {"small_moe_d32_8e_top2_fp32", 8, 2, 32, false, 10, small(32)},
};

}  // namespace

// `--profile CASE TRACE`: instead of benchmarking, runs 3 warm-up steps and 20 profiled steps of one
// case under LibTorch's profiler and writes a Chrome trace (scripts/profile_ops.py sums it by op).
int profile(const std::string& name, const std::string& trace) {
  for (const Case& c : kCases) {
    if (name != c.name) continue;
    Setup s = make_setup(c);
    for (int i = 0; i < 3; ++i) step(s, c);
    {
      torch::autograd::profiler::RecordProfile guard(trace);
      for (int i = 0; i < 20; ++i) step(s, c);
    }
    std::fprintf(stderr, "train_bench: 20 steps of %s profiled into %s\n", c.name, trace.c_str());
    return 0;
  }
  std::fprintf(stderr, "train_bench: --profile: no case named '%s'\n", name.c_str());
  return 2;
}

// `--threads N` (default 2) sets LibTorch's threads and the peer's; `--no-peers` skips the peer.
int main(int argc, char** argv) {
  lab::bench::BenchArgs args = lab::bench::take_bench_args(argc, argv);
  if (argc == 4 && std::strcmp(argv[1], "--profile") == 0) {
    torch::set_num_threads(args.threads > 0 ? args.threads : g_threads);
    return profile(argv[2], argv[3]);
  }
  if (args.threads > 0) g_threads = args.threads;
  g_peers = args.peers;
  torch::set_num_threads(g_threads);
  g_gemm_peak_fp32 = gemm_peak(torch::kFloat32);
  g_gemm_peak_bf16 = gemm_peak(torch::kBFloat16);
  benchmark::AddCustomContext("gemm_peak_fp32_GFLOP/s", fmt::format("{:.0f}", g_gemm_peak_fp32 * 1e-9));
  benchmark::AddCustomContext("gemm_peak_bf16_GFLOP/s", fmt::format("{:.0f}", g_gemm_peak_bf16 * 1e-9));
  for (const Case& c : kCases) g_peer_rates[c.name] = peer_tokens_per_s(c);
  for (const Case& c : kCases) {
    benchmark::RegisterBenchmark(c.name, train_step, c)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->MinTime(3.0);
  }
  return lab::bench::run_benchmarks(argc, argv);
}
