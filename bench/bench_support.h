#pragma once
// What the benchmark programs share: the flags they take before Google Benchmark's own, running the
// registered benchmarks, and running a Python peer to compare with in the same process run.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>

#include "core/blas_info.h"
#include "core/malloc_tuning.h"

namespace lab::bench {

struct BenchArgs {
  int threads = 0;             // --threads N; 0 = the program's default
  bool peers = true;           // --no-peers skips the Python peers
  std::string device = "cpu";  // --device cpu|cuda, in the programs that take it (kDeviceFlag)
  std::string peer2;           // --peer2 PYTHON: a Python with PyTorch 2.x, for train_bench (kPeer2Flag)
};

// The flags beyond --threads and --no-peers that a program takes; in the others they stay in argv,
// where Google Benchmark refuses them.
enum BenchFlags : unsigned { kDeviceFlag = 1u << 0, kPeer2Flag = 1u << 1 };

// Takes our flags out of argv so that Google Benchmark sees only its own. Also tunes malloc and picks
// OpenBLAS's kernels as the lab binary does (core/malloc_tuning.h, core/blas_info.h), so benchmarks
// measure what `lab` runs; the Python peers inherit the OPENBLAS_CORETYPE that sets.
// A --device other than cpu or cuda exits with code 2.
inline BenchArgs take_bench_args(int& argc, char** argv, unsigned flags = 0) {
  if (std::string core = fix_openblas_core(); !core.empty())
    std::fprintf(stderr, "bench: OpenBLAS took this CPU for a Prescott; its %s kernels are used\n",
                 core.c_str());
  keep_freed_memory();
  BenchArgs args;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      args.threads = std::stoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--no-peers") == 0) {
      args.peers = false;
    } else if ((flags & kDeviceFlag) && std::strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
      args.device = argv[++i];
    } else if ((flags & kPeer2Flag) && std::strcmp(argv[i], "--peer2") == 0 && i + 1 < argc) {
      args.peer2 = argv[++i];
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (args.device != "cpu" && args.device != "cuda") {
    std::fprintf(stderr, "%s: --device must be cpu or cuda, got '%s'\n", argv[0], args.device.c_str());
    std::exit(2);
  }
  return args;
}

// Initialize, refuse unknown flags (exit code 2), run, shut down.
inline int run_benchmarks(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// Everything `command` prints (run through the shell).
inline std::string run_command(const std::string& command) {
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return out;
  char buffer[512];
  while (std::fgets(buffer, sizeof(buffer), pipe.get()) != nullptr) out += buffer;
  return out;
}

}  // namespace lab::bench
