#pragma once
// The experts of one MoE layer on a GPU: dispatch, the experts' products and the combine as a few
// whole-tensor operations on the routing's device, differentiated by autograd. grouped_experts
// (models/grouped_experts.h) loops over experts on cache-sized blocks, which suits a CPU; a GPU wants
// no loop over experts and no host synchronisation per expert:
//
//   each routed row goes to slot (expert, its rank among the expert's rows) of a padded [E, C, D]
//   block, C = the most rows any expert got (the one value read back to the host, per layer call);
//   pre = bmm(block, w1) [E, C, W] (and up = bmm(block, w3) for SwiGLU); h = act(pre, up) times the
//   routing weight; out = bmm(h, w2) [E, C, D]; rows gathered back and summed into their tokens.
//
// Padding costs E * C - R rows of wasted products (none when the load is even). Where at::_grouped_mm
// has a fast kernel (LibTorch 2.11+, bf16 on sm_90+) the products run unpadded on the rows as they are
// grouped (grouped_mm_experts). The tokens' sums are deterministic (models/combine_rows.h). The
// arithmetic is the same as grouped_experts' up to the order of sums; MoeLayer uses it for non-CPU
// tensors, and the tests compare the paths on the CPU. `--kernels reference` keeps the padded
// products and index_add.

#include <torch/torch.h>

#include "models/model_config.h"

namespace lab {

// Shapes and semantics as grouped_experts (x [N, D], w1/w3 [E, D, W], w2 [E, W, D], weight_of_row and
// token_of_row [R], rows grouped by expert), with the rows of each expert given as a tensor on the
// device ([E] int64, Routing::tokens_per_expert) rather than a host vector.
torch::Tensor batched_experts(const torch::Tensor& x, const torch::Tensor& w1, const torch::Tensor& w2,
                              const torch::Tensor& w3, const torch::Tensor& weight_of_row,
                              const torch::Tensor& token_of_row, const torch::Tensor& rows_per_expert,
                              ActivationKind activation);

// The same with one at::_grouped_mm per projection over the rows grouped by expert (no padding, no
// host read); the arguments as batched_experts'. Runs wherever LibTorch has the operator (2.11+: CPU
// and CUDA); throws in builds without it.
torch::Tensor grouped_mm_experts(const torch::Tensor& x, const torch::Tensor& w1, const torch::Tensor& w2,
                                 const torch::Tensor& w3, const torch::Tensor& weight_of_row,
                                 const torch::Tensor& token_of_row, const torch::Tensor& rows_per_expert,
                                 ActivationKind activation);
bool grouped_mm_available();

}  // namespace lab
