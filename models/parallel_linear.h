#pragma once
// y = x W^T with the rows of x split over the threads, each slice one single-threaded BLAS product.
// At the lab's small shapes (K and N of 64 to 256, a few thousand rows) OpenBLAS's own threading
// gains little or loses (1.05-1.5x on two cores, BENCHMARKS.md, issue 17), while two independent
// halves run at one core's peak each. The backward splits alike: dX by rows, dW = dY^T X by rows into
// one partial product per thread, added in a fixed order, so a run is deterministic at a fixed thread
// count (dW's rounding depends on the thread count). With one thread it is the plain product.
//
// Tested against torch::nn::functional::linear (outputs and gradients, 1 and 2 threads;
// tests/models/parallel_linear_test.cpp).

#include <torch/torch.h>

namespace lab {

// True when the split applies: fp32 on the CPU outside autocast, more than one thread, the fused
// kernels selected (models/kernels.h). Otherwise linear_projection() is torch::nn::functional::linear.
bool parallel_linear_applies(const torch::Tensor& x, const torch::Tensor& weight);

// x [..., in], weight [out, in] -> [..., out], no bias.
torch::Tensor linear_projection(const torch::Tensor& x, const torch::Tensor& weight);

}  // namespace lab
