// Matrix-product throughput through LibTorch: the ceiling every model benchmark is compared against
// (model FLOP utilisation). fp32 goes through the system BLAS, bf16 through oneDNN.
//
//   build/release/bench/gemm_bench --threads 2
#include <cstring>
#include <string>

#include <benchmark/benchmark.h>

#include "core/blas_info.h"

namespace {

void gemm(benchmark::State& state, torch::Dtype dtype) {
  const int64_t n = state.range(0);
  torch::manual_seed(0);
  torch::Tensor a = torch::randn({n, n}).to(dtype);  // a, b: [n, n]
  torch::Tensor b = torch::randn({n, n}).to(dtype);
  torch::Tensor c = torch::mm(a, b);  // warm-up: oneDNN builds its kernels on first use
  for (auto _ : state) {
    c = torch::mm(a, b);
    benchmark::DoNotOptimize(c.data_ptr());
  }
  const double flops = 2.0 * static_cast<double>(n) * n * n;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK_CAPTURE(gemm, fp32, torch::kFloat32)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(gemm, bf16, torch::kBFloat16)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

// `--threads N` (default: all cores) sets LibTorch's threads; the rest goes to Google Benchmark.
int main(int argc, char** argv) {
  int threads = 0;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = std::stoi(argv[++i]);
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (threads > 0) torch::set_num_threads(threads);
  benchmark::AddCustomContext("torch_threads", std::to_string(torch::get_num_threads()));
  benchmark::AddCustomContext("blas", lab::detect_blas().description);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
