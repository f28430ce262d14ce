#pragma once
// A batch trained in parts side by side, one part per thread: the CPU path for a second thread at the
// lab's small model sizes. There, splitting each small product between threads (LibTorch's way, and
// `--kernels reference`) leaves most of a step's op dispatches serial; a thread per group of
// sequences, each running its part's forward and backward single-threaded, keeps both cores busy
// through them (2 threads / 1: 1.53-1.59 before, 1.65-1.91 with the fused AdamW; BENCHMARKS.md).
//
// Each part's gradients come back apart (torch::autograd::grad) and are added in part order, so a
// step is the same bit for bit at the same thread count. The sum of the parts' objectives must be the
// batch's objective (losses normalised by the whole batch's token count); an MoE's auxiliary losses,
// which depend on the batch, are each part's divided by the parts, as data parallelism has them.

#include <cstddef>
#include <functional>
#include <vector>

#include <torch/torch.h>

namespace lab {

// The parts a batch of `examples` examples is trained in: one per thread on the CPU with the fused
// kernels (at most one per example); 1 on other devices, with `--kernels reference`, or when called
// from a parallel region.
int batch_parts(torch::Device device, std::size_t examples);

// Runs `objective(i)` for each part i in [0, parts) on its own thread (inside it ATen, OpenBLAS and
// oneDNN run single-threaded), differentiates each objective with respect to `parameters`, and sets
// every parameter's gradient to the sum over the parts, added in part order (a parameter no part
// reached keeps its gradient). `objective(i)` must only touch state of part i.
void backward_in_parts(int parts, const std::vector<torch::Tensor>& parameters,
                       const std::function<torch::Tensor(int part)>& objective);

}  // namespace lab
