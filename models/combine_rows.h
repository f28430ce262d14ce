#pragma once
// The last step of an MoE layer: each routed row's expert output added into its token,
// y [N, D] = sum over rows r of rows[r] at y[token_of_row[r]].
//
// A scatter-add (index_add) is the plain way; on CUDA it adds with atomics, in whatever order the
// threads arrive, so two runs differ in the last bits. combine_rows instead orders the rows by token
// (a stable sort of token_of_row) and sums each token's rows in that order, one output element at a
// time: on CUDA in lab's kernel (models/cuda/combine_rows.h, built in CUDA builds of LibTorch), on
// the CPU in the same per-element function (how the tests check it). The gradient of row r is
// grad_y[token_of_row[r]], a gather. Other dtypes, devices without the kernel and `--kernels
// reference` take index_add (combine_rows_reference).

#include <torch/torch.h>

namespace lab {

// rows [R, D], token_of_row [R] int64 in [0, tokens): y [tokens, D] in rows' dtype.
torch::Tensor combine_rows(const torch::Tensor& rows, const torch::Tensor& token_of_row, std::int64_t tokens);
torch::Tensor combine_rows_reference(const torch::Tensor& rows, const torch::Tensor& token_of_row,
                                     std::int64_t tokens);

// Its mirror for the dispatch: rows [R, D] = x[token_of_row[r]] (index_select), whose gradient is the
// deterministic combine of the rows' gradients (index_select's own backward is an index_add with
// atomics on CUDA); a bf16 or fp16 gradient is combined in fp32 and cast back. Under `--kernels
// reference`, index_select.
torch::Tensor gather_rows(const torch::Tensor& x, const torch::Tensor& token_of_row);

// Whether this build has lab's CUDA kernels (a CUDA-enabled LibTorch and nvcc: the torch2 preset).
bool cuda_kernels_built();

}  // namespace lab
