#pragma once
// Causal multi-head self-attention of small heads as one CPU kernel, forward and backward, with the
// rotary embedding inside. The plain composition (models/attention.cpp: a batched product per head,
// masking, softmax, a second product) spends most of a small model's step on LibTorch's per-matrix
// loop inside bmm (one select and one tiny GEMM per batch x head; BENCHMARKS.md, issue 17). Here each
// sequence is one task (models/attention_kernels.h): its heads' queries, keys and values are read
// straight out of the qkv projection's output, scores and softmax live in a small scratch buffer,
// outputs are written straight into the [B, T, D] layout the output projection reads. Sequences run
// in parallel over the threads and each one's arithmetic is the same whatever the thread count, so
// results are bit-identical across thread counts.
//
// Tested against the plain composition (outputs and gradients, fp32, 1 and 2 threads;
// tests/models/fused_attention_test.cpp). No double backward.

#include <torch/torch.h>

namespace lab {

// True when the fused kernel can run this input: fp32, on the CPU, heads of at most 64 dimensions (an
// even number with `rope`), and the fused kernels selected (models/kernels.h). Other inputs take the
// plain composition.
bool fused_attention_applies(const torch::Tensor& qkv, std::int64_t heads, bool rope);

// qkv: [B, T, 3D] (queries, keys, values of every head, as the qkv projection writes them), positions
// 0 .. T-1, D = heads * Dh. Returns [B, T, D]: every query attends to the keys at its own and earlier
// positions, scores scaled by 1/sqrt(Dh). With `rope`, q and k are rotated first (apply_rope).
torch::Tensor fused_causal_attention(const torch::Tensor& qkv, std::int64_t heads, bool rope);

}  // namespace lab
