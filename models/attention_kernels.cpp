#include "models/attention_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "models/cpu_vectors.h"

// Written with the vector helpers of models/cpu_vectors.h; the two entry points are cloned for
// AVX-512, AVX2 + FMA and the baseline, every helper inlined into them.

namespace lab::cpu {
namespace {

constexpr std::int64_t kBlock = 16;  // scores are computed 16 keys at a time, one vector
using Block = Vec<kBlock>;

// exp(x) for x <= 0 (a score minus its row's maximum), 16 lanes: Cephes' single-precision
// polynomial, within 2 ulp of expf; below -87 it returns exp(-87) (callers zero those lanes).
LAB_INLINE Block exp_nonpositive(Block x) {
  const Block lowest = Block{} - 87.0f;
  x = x < lowest ? lowest : x;
  const Block n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round(x / ln 2)
  const Block f = (x - n * 0.693359375f) + n * 2.12194440e-4f;             // x - n ln 2, in two parts
  Block p = Block{} + 1.9875691500e-4f;
  p = p * f + 1.3981999507e-3f;
  p = p * f + 8.3334519073e-3f;
  p = p * f + 4.1665795894e-2f;
  p = p * f + 1.6666665459e-1f;
  p = p * f + 5.0000001201e-1f;
  p = p * f * f + f + 1.0f;
  const typename VecOf<kBlock>::ints bits = (__builtin_convertvector(n, typename VecOf<kBlock>::ints) + 127)
                                            << 23;
  Block scale;  // 2^n
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

LAB_INLINE std::int64_t padded(std::int64_t t) { return (t + kBlock - 1) / kBlock * kBlock; }

// One row of dh values from src to dst, rotated by the angles whose (cos, sin) are c, sn (cos null:
// copied): the pairs (i, i + dh/2) turn by +angle, or by -angle with `inverse` (the rotation's
// transpose, for gradients), as apply_rope.
template <std::int64_t DH>
LAB_INLINE void rotate_row(const float* __restrict src, std::int64_t dh, const float* __restrict c,
                           const float* __restrict sn, bool inverse, float* __restrict dst) {
  if (c == nullptr) {
    if (dh == DH) {
      store<DH>(dst, load<DH>(src));
    } else {
      for (std::int64_t i = 0; i < dh; ++i) dst[i] = src[i];
    }
    return;
  }
  const std::int64_t half = dh / 2;
  if (dh == DH) {  // whole vectors of DH / 2
    const Vec<DH / 2> x1 = load<DH / 2>(src), x2 = load<DH / 2>(src + DH / 2);
    const Vec<DH / 2> cv = load<DH / 2>(c), sv = inverse ? -load<DH / 2>(sn) : load<DH / 2>(sn);
    store<DH / 2>(dst, x1 * cv - x2 * sv);
    store<DH / 2>(dst + DH / 2, x2 * cv + x1 * sv);
    return;
  }
  for (std::int64_t i = 0; i < half; ++i) {
    const float x1 = src[i], x2 = src[half + i], si = inverse ? -sn[i] : sn[i];
    dst[i] = x1 * c[i] - x2 * si;
    dst[half + i] = x2 * c[i] + x1 * si;
  }
}

// Part `part` (0 queries, 1 keys, 2 values) of head h of sequence b out of qkv into out [T][DH]
// (the head's dh values, zero-padded to DH), rotated when cos is set.
template <std::int64_t DH>
LAB_INLINE void load_head(const float* __restrict qkv, const AttentionShape& s, std::int64_t b,
                          std::int64_t part, std::int64_t h, const float* __restrict cos,
                          const float* __restrict sin, float* __restrict out) {
  const std::int64_t dh = s.head_dim, half = dh / 2, d = s.heads * dh;
  for (std::int64_t t = 0; t < s.seq; ++t) {
    float* __restrict dst = out + t * DH;
    for (std::int64_t i = dh; i < DH; ++i) dst[i] = 0.0f;
    rotate_row<DH>(qkv + ((b * s.seq + t) * 3 + part) * d + h * dh, dh, cos ? cos + t * half : nullptr,
                   sin ? sin + t * half : nullptr, false, dst);
  }
}

// The gradient of load_head: g [T][DH] with respect to the rotated values, back through the rotation
// into part `part` of head h of sequence b of dqkv.
template <std::int64_t DH>
LAB_INLINE void store_head_grad(const float* __restrict g, const AttentionShape& s, std::int64_t b,
                                std::int64_t part, std::int64_t h, const float* __restrict cos,
                                const float* __restrict sin, float* __restrict dqkv) {
  const std::int64_t dh = s.head_dim, half = dh / 2, d = s.heads * dh;
  for (std::int64_t t = 0; t < s.seq; ++t) {
    rotate_row<DH>(g + t * DH, dh, cos ? cos + t * half : nullptr, sin ? sin + t * half : nullptr, true,
                   dqkv + ((b * s.seq + t) * 3 + part) * d + h * dh);
  }
}

// x [T][DH] -> out [DH][Tp], zero in the padding columns T .. Tp-1.
template <std::int64_t DH>
LAB_INLINE void transpose_padded(const float* __restrict x, std::int64_t t, std::int64_t tp,
                                 float* __restrict out) {
  for (std::int64_t d = 0; d < DH; ++d) {
    for (std::int64_t i = 0; i < t; ++i) out[d * tp + i] = x[i * DH + d];
    for (std::int64_t i = t; i < tp; ++i) out[d * tp + i] = 0.0f;
  }
}

// Rows of more than 16 floats are done 16 lanes at a time (one AVX-512 register); rows r, r+1, ...
// go to kParts partial sums (four vectors in all), so that the additions do not wait on each other.
template <std::int64_t DH, typename Weight>
LAB_INLINE void weighted_rows(const float* __restrict x, std::int64_t first, std::int64_t last, Weight w,
                              float* __restrict out) {
  constexpr std::int64_t kWidth = DH < kBlock ? DH : kBlock, kChunks = DH / kWidth;
  constexpr std::int64_t kParts = kChunks >= 4 ? 1 : 4 / kChunks;
  Vec<kWidth> acc[kParts][kChunks] = {};
  std::int64_t r = first;
  for (; r + kParts <= last; r += kParts) {
    for (std::int64_t part = 0; part < kParts; ++part) {
      const float weight = w(r + part);
      for (std::int64_t c = 0; c < kChunks; ++c)
        acc[part][c] += weight * load<kWidth>(x + (r + part) * DH + c * kWidth);
    }
  }
  for (; r < last; ++r) {
    const float weight = w(r);
    for (std::int64_t c = 0; c < kChunks; ++c) acc[0][c] += weight * load<kWidth>(x + r * DH + c * kWidth);
  }
  for (std::int64_t c = 0; c < kChunks; ++c) {
    Vec<kWidth> total = acc[0][c];
    for (std::int64_t part = 1; part < kParts; ++part) total += acc[part][c];
    store<kWidth>(out + c * kWidth, total);
  }
}

// Scores and softmax are computed transposed, 16 queries at a time: a vector holds one key's scores
// against 16 queries, so that a row's maximum and sum are vertical operations over the keys (no
// reductions across lanes) and the causal mask is one comparison per key. P is kept in that layout,
// P^T [T keys][Tp queries]; the products with rows of values (and in the backward with queries and
// keys) read it one weight at a time.
using Lanes = typename VecOf<kBlock>::ints;

LAB_INLINE Lanes lane_indices(std::int64_t first) {
  Lanes lanes;
  for (std::int64_t l = 0; l < kBlock; ++l) lanes[l] = static_cast<std::int32_t>(first + l);
  return lanes;
}

// s = sum_d a[d] * bt[d][i0 .. i0+16): one key's (or value's) row a against 16 columns of bt [DH][Tp].
template <std::int64_t DH>
LAB_INLINE Block against_lanes(const float* __restrict a, const float* __restrict bt, std::int64_t tp,
                               std::int64_t i0) {
  Block s0 = {}, s1 = {};
  for (std::int64_t d = 0; d + 1 < DH; d += 2) {
    s0 += a[d] * load<kBlock>(bt + d * tp + i0);
    s1 += a[d + 1] * load<kBlock>(bt + (d + 1) * tp + i0);
  }
  if constexpr (DH % 2 == 1) s0 += a[DH - 1] * load<kBlock>(bt + (DH - 1) * tp + i0);
  return s0 + s1;
}

// Rows 0 .. T-1 of out [T][DH]: row i = sum over keys j <= i of wt[j][i] x[j], for x [T][DH] and weights
// laid out like P^T ([T keys][Tp queries], zero where j > i). For heads narrower than a vector: 16 queries
// at a time, one vector of their weights per key against DH accumulators (one per element of the row),
// where weighted_rows would fill DH of a vector's 16 lanes per product. Same sums, added in key order.
template <std::int64_t DH>
LAB_INLINE void weighted_rows_by_query_block(const float* __restrict x, const float* __restrict wt,
                                             std::int64_t t, std::int64_t tp, float* __restrict out) {
  static_assert(DH < kBlock, "for narrow heads; weighted_rows does wider ones in fewer instructions");
  for (std::int64_t i0 = 0; i0 < t; i0 += kBlock) {
    const std::int64_t keys = std::min(i0 + kBlock, t);
    Block acc[DH] = {};
    for (std::int64_t j = 0; j < keys; ++j) {
      const Block w = load<kBlock>(wt + j * tp + i0);
      for (std::int64_t e = 0; e < DH; ++e) acc[e] += x[j * DH + e] * w;
    }
    const std::int64_t queries = std::min(kBlock, t - i0);
    for (std::int64_t l = 0; l < queries; ++l) {
      for (std::int64_t e = 0; e < DH; ++e) out[(i0 + l) * DH + e] = acc[e][l];
    }
  }
}

// Row i of out [T][DH] for every query i: sum over keys j <= i of wt[j][i] x[j] (wt like P^T).
template <std::int64_t DH>
LAB_INLINE void weighted_rows_by_query(const float* __restrict x, const float* __restrict wt, std::int64_t t,
                                       std::int64_t tp, float* __restrict out) {
  if constexpr (DH < kBlock) {
    weighted_rows_by_query_block<DH>(x, wt, t, tp, out);
  } else {
    for (std::int64_t i = 0; i < t; ++i) {
      weighted_rows<DH>(
          x, 0, i + 1, [&](std::int64_t j) { return wt[j * tp + i]; }, out + i * DH);
    }
  }
}

template <std::int64_t DH>
LAB_INLINE void forward_impl(const float* __restrict qkv, const float* __restrict cos,
                             const float* __restrict sin, const AttentionShape& s, std::int64_t pair,
                             float* __restrict pt, float* __restrict y) {
  const std::int64_t dh = s.head_dim, t = s.seq, tp = padded(t), d = s.heads * dh;
  const std::int64_t b = pair / s.heads, h = pair % s.heads;
  float* __restrict q = scratch(4 * t * DH + DH * tp);
  float* __restrict k = q + t * DH;
  float* __restrict v = k + t * DH;
  float* __restrict out = v + t * DH;   // the head's outputs: [T][DH]
  float* __restrict qt = out + t * DH;  // queries, transposed: [DH][Tp]
  load_head<DH>(qkv, s, b, 0, h, cos, sin, q);
  load_head<DH>(qkv, s, b, 1, h, cos, sin, k);
  load_head<DH>(qkv, s, b, 2, h, nullptr, nullptr, v);
  transpose_padded<DH>(q, t, tp, qt);
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const Block minus_infinity = Block{} - std::numeric_limits<float>::infinity();
  for (std::int64_t i0 = 0; i0 < t; i0 += kBlock) {
    const std::int64_t keys = std::min(i0 + kBlock, t);  // the keys any of these queries sees
    const Lanes query = lane_indices(i0);                // padding lanes (>= T) see every key: finite, unread
    Block max = minus_infinity;
    for (std::int64_t j = 0; j < keys; ++j) {
      Block score = against_lanes<DH>(k + j * DH, qt, tp, i0);
      score = query >= static_cast<std::int32_t>(j) ? score : minus_infinity;
      store<kBlock>(pt + j * tp + i0, score);
      max = score > max ? score : max;
    }
    Block total = {};
    for (std::int64_t j = 0; j < keys; ++j) {
      Block e = exp_nonpositive(load<kBlock>(pt + j * tp + i0) * scale - max * scale);
      e = query >= static_cast<std::int32_t>(j) ? e : Block{};
      store<kBlock>(pt + j * tp + i0, e);
      total += e;
    }
    const Block inv = 1.0f / total;
    for (std::int64_t j = 0; j < keys; ++j)
      store<kBlock>(pt + j * tp + i0, load<kBlock>(pt + j * tp + i0) * inv);
    for (std::int64_t j = keys; j < t; ++j) store<kBlock>(pt + j * tp + i0, Block{});
  }
  weighted_rows_by_query<DH>(v, pt, t, tp, out);
  for (std::int64_t i = 0; i < t; ++i) {
    for (std::int64_t e = 0; e < dh; ++e) y[(b * t + i) * d + h * dh + e] = out[i * DH + e];
  }
}

template <std::int64_t DH>
LAB_INLINE void backward_impl(const float* __restrict qkv, const float* __restrict cos,
                              const float* __restrict sin, const float* __restrict pt,
                              const float* __restrict dout, const AttentionShape& s, std::int64_t pair,
                              float* __restrict dqkv) {
  const std::int64_t dh = s.head_dim, t = s.seq, tp = padded(t), d = s.heads * dh;
  const std::int64_t b = pair / s.heads, h = pair % s.heads;
  float* __restrict q = scratch(7 * t * DH + DH * tp + t * tp);
  float* __restrict k = q + t * DH;
  float* __restrict v = k + t * DH;
  float* __restrict dy = v + t * DH;
  float* __restrict dq = dy + t * DH;
  float* __restrict dk = dq + t * DH;
  float* __restrict dv = dk + t * DH;
  float* __restrict dyt = dv + t * DH;    // the output gradient, transposed: [DH][Tp]
  float* __restrict dst = dyt + DH * tp;  // the scores' gradients, transposed like P: [T][Tp]
  load_head<DH>(qkv, s, b, 0, h, cos, sin, q);
  load_head<DH>(qkv, s, b, 1, h, cos, sin, k);
  load_head<DH>(qkv, s, b, 2, h, nullptr, nullptr, v);
  for (std::int64_t i = 0; i < t; ++i) {
    for (std::int64_t e = 0; e < dh; ++e) dy[i * DH + e] = dout[(b * t + i) * d + h * dh + e];
    for (std::int64_t e = dh; e < DH; ++e) dy[i * DH + e] = 0.0f;
  }
  transpose_padded<DH>(dy, t, tp, dyt);
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  for (std::int64_t i0 = 0; i0 < t; i0 += kBlock) {
    const std::int64_t keys = std::min(i0 + kBlock, t);
    Block dot = {};  // per query: sum_j P_ij dP_ij
    for (std::int64_t j = 0; j < keys; ++j) {
      const Block dp = against_lanes<DH>(v + j * DH, dyt, tp, i0);  // dP: values against output gradients
      store<kBlock>(dst + j * tp + i0, dp);
      dot += load<kBlock>(pt + j * tp + i0) * dp;
    }
    for (std::int64_t j = 0; j < keys; ++j) {  // zero where P is: above the diagonal
      const Block pj = load<kBlock>(pt + j * tp + i0);
      store<kBlock>(dst + j * tp + i0, pj * (load<kBlock>(dst + j * tp + i0) - dot) * scale);
    }
    for (std::int64_t j = keys; j < t; ++j) store<kBlock>(dst + j * tp + i0, Block{});
  }
  weighted_rows_by_query<DH>(k, dst, t, tp, dq);
  for (std::int64_t j = 0; j < t; ++j) {  // key and value j get gradient from the queries i >= j
    weighted_rows<DH>(
        q, j, t, [&](std::int64_t i) { return dst[j * tp + i]; }, dk + j * DH);
    weighted_rows<DH>(
        dy, j, t, [&](std::int64_t i) { return pt[j * tp + i]; }, dv + j * DH);
  }
  store_head_grad<DH>(dq, s, b, 0, h, cos, sin, dqkv);
  store_head_grad<DH>(dk, s, b, 1, h, cos, sin, dqkv);
  store_head_grad<DH>(dv, s, b, 2, h, nullptr, nullptr, dqkv);
}

// Asks for `floats` floats from `x` on into the cache, in order: a sequence's rows are contiguous, and
// reading them head by head (64 bytes of every row) would otherwise wait on memory at every row.
LAB_INLINE void prefetch(const float* x, std::int64_t floats) {
  for (std::int64_t i = 0; i < floats; i += 16) __builtin_prefetch(x + i);
}

template <std::int64_t DH>
LAB_INLINE void forward_sequence(const float* __restrict qkv, const float* __restrict cos,
                                 const float* __restrict sin, const AttentionShape& s, std::int64_t b,
                                 float* __restrict p, float* __restrict y) {
  const std::int64_t rows = s.seq * 3 * s.heads * s.head_dim;
  prefetch(qkv + b * rows, rows);
  for (std::int64_t h = 0; h < s.heads; ++h) {
    const std::int64_t pair = b * s.heads + h;
    forward_impl<DH>(qkv, cos, sin, s, pair, p + pair * s.seq * padded(s.seq), y);
  }
}

template <std::int64_t DH>
LAB_INLINE void backward_sequence(const float* __restrict qkv, const float* __restrict cos,
                                  const float* __restrict sin, const float* __restrict p,
                                  const float* __restrict dout, const AttentionShape& s, std::int64_t b,
                                  float* __restrict dqkv) {
  const std::int64_t rows = s.seq * 3 * s.heads * s.head_dim;
  prefetch(qkv + b * rows, rows);
  prefetch(dout + b * rows / 3, rows / 3);
  prefetch(p + b * s.heads * s.seq * padded(s.seq), s.heads * s.seq * padded(s.seq));  // saved long ago
  for (std::int64_t h = 0; h < s.heads; ++h) {
    const std::int64_t pair = b * s.heads + h;
    backward_impl<DH>(qkv, cos, sin, p + pair * s.seq * padded(s.seq), dout, s, pair, dqkv);
  }
}

}  // namespace

std::int64_t padded_seq(std::int64_t seq) { return padded(seq); }

// Head dimensions are padded with zeros to 4, 8, 16, 32 or 64 lanes (fused_attention_applies admits
// at most 64): zero lanes add nothing to any product.
LAB_CPU_CLONES void attention_forward(const float* qkv, const float* cos, const float* sin,
                                      const AttentionShape& shape, std::int64_t b, float* p, float* y) {
  const std::int64_t dh = shape.head_dim;
  if (dh <= 4) return forward_sequence<4>(qkv, cos, sin, shape, b, p, y);
  if (dh <= 8) return forward_sequence<8>(qkv, cos, sin, shape, b, p, y);
  if (dh <= 16) return forward_sequence<16>(qkv, cos, sin, shape, b, p, y);
  if (dh <= 32) return forward_sequence<32>(qkv, cos, sin, shape, b, p, y);
  return forward_sequence<64>(qkv, cos, sin, shape, b, p, y);
}

LAB_CPU_CLONES void attention_backward(const float* qkv, const float* cos, const float* sin, const float* p,
                                       const float* dout, const AttentionShape& shape, std::int64_t b,
                                       float* dqkv) {
  const std::int64_t dh = shape.head_dim;
  if (dh <= 4) return backward_sequence<4>(qkv, cos, sin, p, dout, shape, b, dqkv);
  if (dh <= 8) return backward_sequence<8>(qkv, cos, sin, p, dout, shape, b, dqkv);
  if (dh <= 16) return backward_sequence<16>(qkv, cos, sin, p, dout, shape, b, dqkv);
  if (dh <= 32) return backward_sequence<32>(qkv, cos, sin, p, dout, shape, b, dqkv);
  return backward_sequence<64>(qkv, cos, sin, p, dout, shape, b, dqkv);
}

}  // namespace lab::cpu
