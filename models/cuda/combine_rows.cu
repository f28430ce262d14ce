// The kernel of models/cuda/combine_rows.h, compiled by nvcc as its own target (lab_cuda_kernels) in
// CUDA builds of LibTorch; C++17, no LibTorch header.
#include <cuda_runtime.h>

#include "models/cuda/combine_rows.h"

namespace lab::cuda {
namespace {

// One thread per output element, consecutive threads on consecutive features of a token (coalesced
// reads of each row and writes of y); a grid-stride loop covers any size.
__global__ void combine_rows_kernel(const float* rows, const std::int64_t* perm, const std::int64_t* offsets,
                                    std::int64_t tokens, std::int64_t width, float* y) {
  const std::int64_t total = tokens * width;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += stride) {
    y[i] = combine_element(rows, perm, offsets, width, i / width, i % width);
  }
}

}  // namespace

const char* launch_combine_rows(const float* rows, const std::int64_t* perm, const std::int64_t* offsets,
                                std::int64_t tokens, std::int64_t width, float* y, void* stream) {
  const std::int64_t total = tokens * width;
  if (total == 0) return nullptr;
  constexpr int kThreads = 256;
  const std::int64_t wanted = (total + kThreads - 1) / kThreads;
  const int blocks = static_cast<int>(wanted < 65535 * 16 ? wanted : 65535 * 16);
  combine_rows_kernel<<<blocks, kThreads, 0, static_cast<cudaStream_t>(stream)>>>(rows, perm, offsets, tokens,
                                                                                  width, y);
  const cudaError_t status = cudaGetLastError();
  return status == cudaSuccess ? nullptr : cudaGetErrorString(status);
}

}  // namespace lab::cuda
