#pragma once
// The combine step of an MoE layer on a GPU: each token's output is the sum of its routed rows' expert
// outputs, y[t] = sum of rows[perm[s]] over s in [offsets[t], offsets[t + 1]), added in s's order.
// One thread per (token, feature) reads its rows and writes y once: no atomics, so the sum's order,
// and with it every bit of the result, is the same on every run (a scatter-add with atomics, as
// index_add_ on CUDA, adds in whatever order the threads arrive).
//
// This header is plain C++ (no LibTorch, no CUDA headers): the per-element function below is what the
// kernel in combine_rows.cu runs, and the tests run the same function on the host.

#include <cstdint>

#if defined(__CUDACC__)
#define LAB_HOST_DEVICE __host__ __device__
#else
#define LAB_HOST_DEVICE
#endif

namespace lab::cuda {

// y[t * width + f] for one token t and feature f: rows [R, width] fp32 (row-major), perm [R] the rows
// ordered by token, offsets [tokens + 1] where each token's rows start in perm (offsets[tokens] = R).
LAB_HOST_DEVICE inline float combine_element(const float* rows, const std::int64_t* perm,
                                             const std::int64_t* offsets, std::int64_t width, std::int64_t t,
                                             std::int64_t f) {
  float sum = 0.0f;
  for (std::int64_t s = offsets[t]; s < offsets[t + 1]; ++s) sum += rows[perm[s] * width + f];
  return sum;
}

// Launches the kernel on `stream` (a cudaStream_t) and returns nullptr, or CUDA's message when the
// launch failed. All pointers are device memory; y [tokens, width] is written whole.
const char* launch_combine_rows(const float* rows, const std::int64_t* perm, const std::int64_t* offsets,
                                std::int64_t tokens, std::int64_t width, float* y, void* stream);

}  // namespace lab::cuda
