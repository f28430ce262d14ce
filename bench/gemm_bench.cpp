// Matrix-product throughput through LibTorch: the ceiling every model benchmark is compared against
// (model FLOP utilisation). fp32 goes through the system BLAS, bf16 through oneDNN.
//
//   build/release/bench/gemm_bench --threads 2
#include <cstring>
#include <string>

#include <benchmark/benchmark.h>

#include "bench/bench_support.h"
#include "core/blas_info.h"

namespace {

void gemm(benchmark::State& state, torch::Dtype dtype) {
  const std::int64_t n = state.range(0);
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
  lab::bench::BenchArgs args = lab::bench::take_bench_args(argc, argv);
  if (args.threads > 0) torch::set_num_threads(args.threads);
  benchmark::AddCustomContext("torch_threads", std::to_string(torch::get_num_threads()));
  benchmark::AddCustomContext("blas", lab::detect_blas().description);
  return lab::bench::run_benchmarks(argc, argv);
}
