// Whole training steps (forward, cross-entropy + router losses, backward, AdamW) of the transformer on
// the configuration of ../shared/peers/torch_gpt_peer.py: vocabulary 64, sequence 64, batch 64,
// d_model 256, 4 layers, 4 heads, d_ff 256, random tokens, and the CPU presets' small shapes. The peer
// (plain PyTorch, Python MoE loop) runs in the same process run with the same configurations, so
// `x_peer` is a like-for-like ratio; `x_peer2` and `x_peer2c` compare with PyTorch 2.x, eager and
// under torch.compile.
//
//   build/release/bench/train_bench --threads 2          (the peer needs python3-torch)
//   build/release/bench/train_bench --threads 1 --peer2 ~/.cache/lab-torch2/venv-2.11.0/bin/python3
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
#include <span>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <torch/csrc/autograd/profiler_legacy.h>

#include "bench/bench_device.h"
#include "bench/bench_support.h"
#include "models/accounting.h"
#include "models/autocast.h"
#include "models/transformer.h"
#include "trainer/batch_parts.h"
#include "trainer/fused_adamw.h"

namespace {

// The GEMM peaks MFU divides by, measured at start-up like bench/gemm_bench (1024^3, this run's
// threads): hosts differ by up to 2.8x (BENCHMARKS.md), so a constant from another day would not do.
double g_gemm_peak_fp32 = 0, g_gemm_peak_bf16 = 0;
int g_threads = 2;
torch::Device g_device = torch::kCPU;  // --device cuda: the models, batches and GEMM peaks on the GPU

// The Python peers each case is compared with, run before the cases: Debian's PyTorch 1.13 in eager
// mode (`peer`, /usr/bin/python3), and with `--peer2 PYTHON` a PyTorch 2.x in eager mode (`peer2`) and
// with its model under torch.compile (`peer2c`, bench/peers/torch_compile_peer.py).
struct Peer {
  std::string label, python;
  bool compiled;
};
std::vector<Peer> g_peers;
std::map<std::string, std::map<std::string, double>> g_peer_rates;  // case -> peer label -> tokens/s

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

// `relative` (a path from the repository root) from the working directory or up to three levels
// below the root (build/release/bench); empty if not found.
std::string find_from_root(const std::string& relative) {
  for (const char* prefix : {"", "../", "../../", "../../../"}) {
    std::string path = prefix + relative;
    if (FILE* f = std::fopen(path.c_str(), "r")) {
      std::fclose(f);
      return path;
    }
  }
  return {};
}

double peer_tokens_per_s(const Case& c, const Peer& peer) {
  if (c.peer_steps == 0) return 0;
  const Shape& s = c.shape;
  std::string args = fmt::format(" --V {} --T {} --batch {} --d {} --L {} --h {} --ff {}", s.vocab, s.seq,
                                 s.batch, s.d, s.layers, s.heads, c.experts == 0 ? s.ff : c.width);
  if (c.experts > 0) args += fmt::format(" --E {} --k {}", c.experts, c.top_k);
  const std::string script = find_from_root("../shared/peers/torch_gpt_peer.py");
  const std::string wrapper = peer.compiled ? find_from_root("bench/peers/torch_compile_peer.py") : "";
  if (script.empty() || (peer.compiled && wrapper.empty())) {
    std::fprintf(stderr,
                 "train_bench: ../shared/peers/torch_gpt_peer.py%s not found from here; no %s ratios\n",
                 peer.compiled ? " or bench/peers/torch_compile_peer.py" : "", peer.label.c_str());
    return 0;
  }
  const std::string command =
      fmt::format("{} {}{} --threads {} --steps {}{}{} 2>&1", peer.python, peer.compiled ? wrapper + " " : "",
                  script, g_threads, c.peer_steps, args, c.bf16 ? " --bf16" : "");
  std::smatch match;
  std::string out = lab::bench::run_command(command);
  if (std::regex_search(out, match, std::regex(R"(tokens_per_s=(\d+))"))) return std::stod(match[1]);
  std::fprintf(stderr, "train_bench: %s did not run on %s: %s\n", peer.label.c_str(), c.name, out.c_str());
  return 0;
}

// Whether Google Benchmark's --benchmark_filter (a regular expression, '-' in front: negated) selects
// `name`, so that the peers run only for the cases that will run.
bool selected(const std::string& name, int argc, char** argv) {
  const std::string flag = "--benchmark_filter=";
  std::string filter;
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], flag.c_str(), flag.size()) == 0) filter = argv[i] + flag.size();
  if (filter.empty() || filter == "all" || filter == ".") return true;
  const bool negated = filter[0] == '-';
  try {
    return std::regex_search(name, std::regex(negated ? filter.substr(1) : filter)) != negated;
  } catch (const std::regex_error&) {
    return true;  // Google Benchmark reports the bad filter itself
  }
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
  setup.model->to(g_device);
  setup.optimizer = std::make_unique<lab::FusedAdamW>(setup.model->parameters(),  // as the trainer's
                                                      torch::optim::AdamWOptions(1e-3).weight_decay(0.1));
  torch::Tensor x = torch::randint(0, kVocab, {kBatch, kSeq + 1}).to(g_device);
  setup.inputs = x.slice(1, 0, kSeq);
  setup.targets = x.slice(1, 1);
  return setup;
}

// The batch's loss: cross-entropy summed over `inputs`' tokens / `tokens` (the whole batch's), plus
// the routers' auxiliary loss times `share` (the part's share of the batch).
torch::Tensor objective(Setup& s, const Case& c, const torch::Tensor& inputs, const torch::Tensor& targets,
                        double tokens, double share) {
  lab::TransformerOutput out;
  {
    lab::AutocastGuard autocast(g_device.type(), torch::kBFloat16, c.bf16);
    out = s.model->forward(inputs);
  }
  const torch::Tensor loss = torch::nn::functional::cross_entropy(
      out.logits.to(torch::kFloat32).reshape({-1, s.config.vocab_size}), targets.reshape(-1),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  return loss / tokens + out.aux_loss * share;
}

// One training step as the trainer takes it: on the CPU with several threads, the batch in parts side
// by side, one per thread (trainer/batch_parts.h).
void step(Setup& s, const Case& c) {
  s.optimizer->zero_grad();
  const std::int64_t batch = s.inputs.size(0);
  const int parts = lab::batch_parts(g_device, static_cast<std::size_t>(batch));
  const double tokens = static_cast<double>(s.targets.numel());
  if (parts == 1) {
    objective(s, c, s.inputs, s.targets, tokens, 1.0).backward();
  } else {
    lab::backward_in_parts(parts, s.model->parameters(), [&](int i) {
      const std::int64_t begin = batch * i / parts, end = batch * (i + 1) / parts;
      return objective(s, c, s.inputs.slice(0, begin, end), s.targets.slice(0, begin, end), tokens,
                       1.0 / parts);
    });
  }
  s.optimizer->step();
  if (g_device.is_cuda()) torch::cuda::synchronize();  // the step's time, not its launch's
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
  for (const Peer& peer : g_peers) {
    if (double rate = g_peer_rates[c.name][peer.label]; rate > 0) {
      state.counters[peer.label + "_tok/s"] = rate;
      state.counters["x_" + peer.label] =
          benchmark::Counter(tokens / rate, benchmark::Counter::kIsIterationInvariantRate);
    }
  }
}

// FLOP/s of the best of 20 n^3 products, after a warm-up (oneDNN builds its bf16 kernels then):
// 1024^3 on the CPU, 8192^3 on a GPU.
double gemm_peak(torch::Dtype dtype) {
  const std::int64_t n = g_device.is_cuda() ? 8192 : 1024;
  torch::Tensor a = torch::randn({n, n}).to(g_device, dtype), b = torch::randn({n, n}).to(g_device, dtype);
  torch::Tensor c = torch::mm(a, b);
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < 20; ++i) {
    if (g_device.is_cuda()) torch::cuda::synchronize();
    const auto start = std::chrono::steady_clock::now();
    c = torch::mm(a, b);
    if (g_device.is_cuda()) torch::cuda::synchronize();
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

// With --device cuda: shapes a GPU is for (the mop-* presets' scale), bf16, no peer. Batch 32 x 512
// tokens, 8 layers, 8 heads, vocabulary 512; MoE FFNs FLOP-matched to the dense one at G = 1 (8
// experts of width d, top-1), fine-grained G = 8 (64 experts of width d / 8, top-8) and Mixtral-like
// top-2 over 8.
constexpr Shape gpu(std::int64_t d) { return Shape{512, 512, 32, d, 8, 8, d}; }
const Case kGpuCases[] = {
    {"gpu_d1024_dense_bf16", 0, 0, 0, true, 0, gpu(1024)},
    {"gpu_d1024_moe_8e_top1_bf16", 8, 1, 1024, true, 0, gpu(1024)},
    {"gpu_d1024_moe_8e_top2_bf16", 8, 2, 1024, true, 0, gpu(1024)},
    {"gpu_d1024_moe_64e_top8_w128_bf16", 64, 8, 128, true, 0, gpu(1024)},
    {"gpu_d1024_moe_64e_top8_w128_fp32", 64, 8, 128, false, 0, gpu(1024)},
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

// `--threads N` (default 2) sets LibTorch's threads and the peers'; `--no-peers` skips the peers;
// `--peer2 PYTHON` adds the PyTorch 2.x peers, run by that Python (`bash scripts/setup.sh torch2`
// makes ~/.cache/lab-torch2/venv-2.11.0/bin/python3); `--device cuda` runs the GPU cases
// (kGpuCases) on CUDA device 0 instead, without peers.
int main(int argc, char** argv) {
  lab::bench::BenchArgs args =
      lab::bench::take_bench_args(argc, argv, lab::bench::kDeviceFlag | lab::bench::kPeer2Flag);
  g_device = lab::bench::bench_device(args, argv[0]);
  if (argc == 4 && std::strcmp(argv[1], "--profile") == 0) {
    torch::set_num_threads(args.threads > 0 ? args.threads : g_threads);
    return profile(argv[2], argv[3]);
  }
  if (args.threads > 0) g_threads = args.threads;
  if (args.peers && !g_device.is_cuda()) {  // the peers are CPU programs
    g_peers.push_back({"peer", "/usr/bin/python3", false});
    if (!args.peer2.empty()) {
      g_peers.push_back({"peer2", args.peer2, false});
      g_peers.push_back({"peer2c", args.peer2, true});
    }
  }
  torch::set_num_threads(g_threads);
  g_gemm_peak_fp32 = gemm_peak(torch::kFloat32);
  g_gemm_peak_bf16 = gemm_peak(torch::kBFloat16);
  benchmark::AddCustomContext("gemm_peak_fp32_GFLOP/s", fmt::format("{:.0f}", g_gemm_peak_fp32 * 1e-9));
  benchmark::AddCustomContext("gemm_peak_bf16_GFLOP/s", fmt::format("{:.0f}", g_gemm_peak_bf16 * 1e-9));
  const auto cases = g_device.is_cuda() ? std::span<const Case>(kGpuCases) : std::span<const Case>(kCases);
  for (const Case& c : cases) {
    if (!selected(c.name, argc, argv)) continue;
    for (const Peer& peer : g_peers) g_peer_rates[c.name][peer.label] = peer_tokens_per_s(c, peer);
  }
  for (const Case& c : cases) {
    benchmark::RegisterBenchmark(c.name, train_step, c)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->MinTime(3.0);
  }
  return lab::bench::run_benchmarks(argc, argv);
}
