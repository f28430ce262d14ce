#pragma once
// The device that a LibTorch benchmark program's --device names (bench_support.h parses the flag;
// this header is apart because gen_bench has no LibTorch).

#include <cstdio>
#include <cstdlib>

#include <torch/torch.h>

#include "bench/bench_support.h"

namespace lab::bench {

// CUDA device 0 for --device cuda (exits with code 2 where there is none), else the CPU.
inline torch::Device bench_device(const BenchArgs& args, const char* program) {
  if (args.device != "cuda") return torch::kCPU;
  if (!torch::cuda::is_available()) {
    std::fprintf(stderr, "%s: --device cuda: no CUDA device (or a LibTorch without CUDA)\n", program);
    std::exit(2);
  }
  return torch::Device(torch::kCUDA, 0);
}

}  // namespace lab::bench
