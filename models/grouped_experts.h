#pragma once
// All experts of one MoE layer as a single autograd node: gather the routed rows once, run every
// expert's matrix products on its contiguous block of rows, combine once with the routing weights.
// Backward mirrors it (gather of the output gradient, per-expert products into preallocated buffers,
// scatter-add into the input gradient), so there is no per-expert chain of small autograd ops and no
// large temporaries: on CPU the copies, not the math, decide fine-grained MoE speed.

#include <vector>

#include <torch/torch.h>

#include "models/model_config.h"

namespace lab {

// The dtype the experts' outputs are summed in: fp32 when they compute in 16 bits, else x's own
// (grouped_experts here, batched_experts on other devices).
torch::Dtype accumulation_dtype(const torch::Tensor& x);

// x: [N, D]; w1, w3: [E, D, W] (w3 undefined for GELU); w2: [E, W, D]; weight_of_row: [R];
// token_of_row: [R] int64 grouped by expert as rows_per_expert says (see Routing).
// Returns y: [N, D], y[t] = sum over rows r of token t: weight_of_row[r] * expert_e(r)(x[t]), in x's
// dtype, or fp32 when x is 16-bit (the k expert outputs of a token are summed in fp32).
// All floating inputs must share one dtype; differentiable in x, w1, w2, w3 and weight_of_row.
// One expert at a time, its rows are gathered into a small block that stays in cache, so no [R, D]
// tensor is ever materialised.
torch::Tensor grouped_experts(const torch::Tensor& x, const torch::Tensor& w1, const torch::Tensor& w2,
                              const torch::Tensor& w3, const torch::Tensor& weight_of_row,
                              const torch::Tensor& token_of_row,
                              const std::vector<std::int64_t>& rows_per_expert, ActivationKind activation);

}  // namespace lab
