#include "models/fused_attention.h"

#include <vector>

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include "models/attention.h"
#include "models/attention_kernels.h"
#include "models/kernels.h"

namespace lab {
namespace {

// The rotary tables of positions 0 .. T-1 as plain arrays ([T, Dh/2] each), computed by the same
// LibTorch expression as apply_rope so that both paths rotate by the same angles.
struct Rope {
  torch::Tensor cos, sin;  // [T, Dh/2] fp32, contiguous; undefined without rope
  const float* c() const { return cos.defined() ? cos.data_ptr<float>() : nullptr; }
  const float* s() const { return sin.defined() ? sin.data_ptr<float>() : nullptr; }
};

Rope make_rope(const cpu::AttentionShape& s, bool rope) {
  if (!rope) return {};
  auto [cos, sin] = rope_tables(s.seq, s.head_dim, 0, torch::TensorOptions().dtype(torch::kFloat32));
  return {cos.contiguous(), sin.contiguous()};
}

cpu::AttentionShape shape_of(const torch::Tensor& qkv, std::int64_t heads) {
  return {qkv.size(0), qkv.size(1), heads, qkv.size(2) / (3 * heads)};
}

struct CausalAttentionFunction : torch::autograd::Function<CausalAttentionFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& qkv_in,
                               std::int64_t heads, bool rope) {
    RECORD_FUNCTION("lab::fused_causal_attention", std::vector<c10::IValue>({qkv_in}));
    const torch::Tensor qkv = qkv_in.contiguous();
    const cpu::AttentionShape s = shape_of(qkv, heads);
    const Rope tables = make_rope(s, rope);
    torch::Tensor y = torch::empty({s.batch, s.seq, s.heads * s.head_dim}, qkv.options());  // [B, T, D]
    torch::Tensor p =
        torch::empty({s.batch, s.heads, s.seq, cpu::padded_seq(s.seq)}, qkv.options());  // [B, H, T, Tp]
    const float* x = qkv.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    float* pp = p.data_ptr<float>();
    at::parallel_for(0, s.batch, 1, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t b = begin; b < end; ++b)
        cpu::attention_forward(x, tables.c(), tables.s(), s, b, pp, yp);
    });
    ctx->save_for_backward({qkv, p});
    ctx->saved_data["heads"] = heads;
    ctx->saved_data["rope"] = rope;
    return y;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& qkv = saved[0];
    const torch::Tensor& p = saved[1];
    const std::int64_t heads = ctx->saved_data["heads"].toInt();
    const bool rope = ctx->saved_data["rope"].toBool();
    const cpu::AttentionShape s = shape_of(qkv, heads);
    const Rope tables = make_rope(s, rope);
    const torch::Tensor dout = grads[0].contiguous();
    torch::Tensor dqkv = torch::empty_like(qkv);  // every element is written
    const float* x = qkv.data_ptr<float>();
    const float* pp = p.data_ptr<float>();
    const float* g = dout.data_ptr<float>();
    float* dx = dqkv.data_ptr<float>();
    at::parallel_for(0, s.batch, 1, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t b = begin; b < end; ++b)
        cpu::attention_backward(x, tables.c(), tables.s(), pp, g, s, b, dx);
    });
    return {dqkv, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool fused_attention_applies(const torch::Tensor& qkv, std::int64_t heads, bool rope) {
  if (kernels() != Kernels::fused) return false;
  if (!qkv.device().is_cpu() || qkv.scalar_type() != torch::kFloat32 || qkv.dim() != 3) return false;
  if (heads <= 0 || qkv.size(2) % (3 * heads) != 0) return false;
  const std::int64_t head_dim = qkv.size(2) / (3 * heads);
  return head_dim <= 64 && (!rope || head_dim % 2 == 0);
}

torch::Tensor fused_causal_attention(const torch::Tensor& qkv, std::int64_t heads, bool rope) {
  return CausalAttentionFunction::apply(qkv, heads, rope);
}

}  // namespace lab
