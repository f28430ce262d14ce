// MoE FFN forward + backward against a dense FFN with the same active FLOPs, measured in one run:
// 4096 tokens, d_model 256, d_ff 256 (with --device cuda: 32768 tokens, d_model 1024, d_ff 1024, on
// CUDA device 0). Each MoE case reports `x_dense`, its time over the dense FFN's time in the same
// dtype measured earlier in the same process.
//
//   build/release/bench/moe_bench --threads 2
//   build/torch2/bench/moe_bench --device cuda
//
// Cases: 8 experts top-1 (G = 1), 32 experts of width 64 top-4 (G = 4), 64 experts of width 32 top-8
// (G = 8), all expansion 8, token choice; plus expert choice at G = 8. fp32, and bf16 under autocast
// (router in fp32); `_reference` cases run `--kernels reference` (on a GPU: the padded products and
// index_add, against at::_grouped_mm and the deterministic combine).
#include <chrono>
#include <cstring>
#include <map>
#include <string>

#include <benchmark/benchmark.h>

#include "bench/bench_device.h"
#include "bench/bench_support.h"
#include "core/blas_info.h"
#include "models/autocast.h"
#include "models/dense_ffn.h"
#include "models/kernels.h"
#include "models/moe_layer.h"

namespace {

std::int64_t kTokens = 4096;
std::int64_t kDModel = 256;
std::int64_t kDff = 256;
torch::Device g_device = torch::kCPU;

std::map<bool, double> dense_seconds;  // per-iteration time of the dense FFN, by bf16

lab::ModelConfig moe_config(std::int64_t granularity, lab::RouterKind router) {
  lab::ModelConfig c;
  c.d_model = kDModel;
  c.d_ff = kDff;
  c.ffn = lab::FfnKind::moe;
  c.granularity = granularity;
  c.expansion = 8;
  c.top_k = 1;
  c.router = router;
  return c;
}

// Runs forward + backward of `ffn` on x: [4096, 256] with a fixed output gradient; returns seconds per
// iteration measured around the whole loop.
template <typename Forward>
double run(benchmark::State& state, bool bf16, Forward forward, const std::vector<torch::Tensor>& params) {
  torch::manual_seed(0);
  torch::Tensor x = torch::randn({kTokens, kDModel}).to(g_device).requires_grad_(true);
  torch::Tensor grad = torch::randn({kTokens, kDModel}).to(g_device);
  auto step = [&] {
    torch::Tensor y;
    {
      lab::AutocastGuard autocast(g_device.type(), torch::kBFloat16, bf16);
      y = forward(x);
    }
    y.backward(grad.to(y.scalar_type()));
    for (torch::Tensor p : params) p.mutable_grad() = torch::Tensor();
    x.mutable_grad() = torch::Tensor();
    if (g_device.is_cuda()) torch::cuda::synchronize();
  };
  step();  // warm-up: oneDNN builds its bf16 kernels on first use
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) step();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return seconds / static_cast<double>(state.iterations());
}

void dense_ffn(benchmark::State& state, bool bf16) {
  torch::manual_seed(0);
  lab::DenseFfn ffn(kDModel, kDff, lab::ActivationKind::gelu);
  ffn->to(g_device);
  dense_seconds[bf16] = run(
      state, bf16, [&](const torch::Tensor& x) { return ffn(x); }, ffn->parameters());
  state.counters["GFLOP/s"] = benchmark::Counter(6.0 * 2 * kDModel * kDff * kTokens * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void moe_ffn(benchmark::State& state, std::int64_t granularity, lab::RouterKind router, bool bf16,
             bool reference = false) {
  lab::KernelsGuard kernels(reference ? lab::Kernels::reference : lab::Kernels::fused);
  torch::manual_seed(0);
  lab::MoeLayer moe(moe_config(granularity, router));
  moe->to(g_device);
  const double seconds = run(
      state, bf16, [&](const torch::Tensor& x) { return moe(x).y; }, moe->parameters());
  if (dense_seconds.count(bf16)) state.counters["x_dense"] = seconds / dense_seconds[bf16];
  state.counters["GFLOP/s"] = benchmark::Counter(6.0 * 2 * kDModel * kDff * kTokens * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

using lab::RouterKind;
BENCHMARK_CAPTURE(dense_ffn, fp32, false)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(moe_ffn, fp32_G1_8x256_top1, 1, RouterKind::token_choice, false)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(moe_ffn, fp32_G4_32x64_top4, 4, RouterKind::token_choice, false)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(moe_ffn, fp32_G8_64x32_top8, 8, RouterKind::token_choice, false)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(moe_ffn, fp32_G8_expert_choice, 8, RouterKind::expert_choice, false)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(dense_ffn, bf16, true)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(moe_ffn, bf16_G1_8x256_top1, 1, RouterKind::token_choice, true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(moe_ffn, bf16_G4_32x64_top4, 4, RouterKind::token_choice, true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(moe_ffn, bf16_G8_64x32_top8, 8, RouterKind::token_choice, true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(moe_ffn, bf16_G8_64x32_top8_reference, 8, RouterKind::token_choice, true, true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

// `--threads N` (default: all cores) sets LibTorch's threads; `--device cuda` runs on CUDA device 0
// with the larger shapes; the rest goes to Google Benchmark.
int main(int argc, char** argv) {
  lab::bench::BenchArgs args = lab::bench::take_bench_args(argc, argv, lab::bench::kDeviceFlag);
  g_device = lab::bench::bench_device(args, argv[0]);
  if (g_device.is_cuda()) kTokens = 32768, kDModel = 1024, kDff = 1024;
  if (args.threads > 0) torch::set_num_threads(args.threads);
  benchmark::AddCustomContext("torch_threads", std::to_string(torch::get_num_threads()));
  benchmark::AddCustomContext("blas", lab::detect_blas().description);
  benchmark::AddCustomContext("device", g_device.str());
  return lab::bench::run_benchmarks(argc, argv);
}
