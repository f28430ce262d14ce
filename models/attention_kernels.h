#pragma once
// The arithmetic of the fused CPU attention (models/fused_attention.h) for one sequence, all its heads,
// in plain C++ without LibTorch, so that it compiles in its own small translation unit with the flags
// that let the compiler vectorise it (-fno-trapping-math) and in clones for AVX-512, AVX2 + FMA and
// the baseline, chosen at load time for the CPU it runs on.
//
// Layouts (fp32, contiguous): qkv [B, T, 3, H, Dh] (the qkv projection's output [B, T, 3D]);
// cos, sin [T, Dh/2] (null: no rotation); p: the softmax, transposed per pair: [B, H, T keys, Tp
// queries] (Tp = padded_seq(T); zero where a key is after the query); y and dout [B, T, H, Dh]
// (= [B, T, D]).
// Head dimensions up to 64.

#include <cstdint>

namespace lab::cpu {

struct AttentionShape {
  std::int64_t batch, seq, heads, head_dim;
};

// The softmax's row length: T rounded up to whole vectors of 16.
std::int64_t padded_seq(std::int64_t seq);

// Sequence b, every head: its softmax rows into p and its outputs into y.
void attention_forward(const float* qkv, const float* cos, const float* sin, const AttentionShape& shape,
                       std::int64_t b, float* p, float* y);

// Sequence b's share of the input gradient: its rows of dqkv (queries, keys, values), every element
// of them written.
void attention_backward(const float* qkv, const float* cos, const float* sin, const float* p,
                        const float* dout, const AttentionShape& shape, std::int64_t b, float* dqkv);

}  // namespace lab::cpu
