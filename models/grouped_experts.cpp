#include "models/grouped_experts.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include <ATen/ThreadLocalState.h>

#include "models/autocast.h"

namespace lab {

torch::Dtype accumulation_dtype(const torch::Tensor& x) {
  return x.element_size() < 4 ? torch::kFloat32 : x.scalar_type();
}

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Where each expert's rows start in the routed row list. rows: [E] -> offsets: [E + 1].
std::vector<std::int64_t> offsets_of(const std::vector<std::int64_t>& rows) {
  std::vector<std::int64_t> offsets(rows.size() + 1, 0);
  for (size_t e = 0; e < rows.size(); ++e) offsets[e + 1] = offsets[e] + rows[e];
  return offsets;
}

// Runs body(e, first_row, rows, accumulator) for every expert with rows, the experts split over
// LibTorch's threads in contiguous ranges of about equal rows; the products and copies inside then run
// single-threaded, on blocks small enough to stay in cache. Each thread has its own accumulator, so
// scatter-adds never race. Per-expert products are too small to keep two threads busy between OpenMP
// barriers: on 2 cores the MoE layer at G = 8 took as long with 2 threads as with 1 when each product
// used both. With one thread this is the plain loop over experts, in order.
template <typename Body>
void for_each_expert(const std::vector<std::int64_t>& offsets, std::vector<torch::Tensor>* accumulators,
                     torch::IntArrayRef accumulator_sizes, torch::TensorOptions accumulator_options,
                     const Body& body) {
  const auto experts = static_cast<std::int64_t>(offsets.size()) - 1;
  const std::int64_t threads =
      std::max<std::int64_t>(1, std::min<std::int64_t>(torch::get_num_threads(), experts));
  // first[t]: the first expert of range t, where the rows before it reach t / threads of all rows.
  std::vector<std::int64_t> first(threads + 1, experts);
  for (std::int64_t t = 0, e = 0; t < threads; ++t) {
    while (e < experts && offsets[e] * threads < offsets.back() * t) ++e;
    first[t] = e;
  }
  if (accumulators) accumulators->assign(threads, torch::Tensor());
  // OpenMP's threads do not inherit the caller's thread-local state (grad mode: no autograd inside a
  // Function's forward; autocast), so each takes a copy of it.
  const at::ThreadLocalState caller_state;
  at::parallel_for(0, threads, 1, [&](std::int64_t begin, std::int64_t end) {
    at::ThreadLocalStateGuard same_state(caller_state);
    for (std::int64_t t = begin; t < end; ++t) {
      torch::Tensor* acc = nullptr;
      if (accumulators) {
        acc = &(*accumulators)[t];
        if (!acc->defined()) *acc = torch::zeros(accumulator_sizes, accumulator_options);
      }
      for (std::int64_t e = first[t]; e < first[t + 1]; ++e) {
        if (offsets[e + 1] > offsets[e]) body(e, offsets[e], offsets[e + 1] - offsets[e], acc);
      }
    }
  });
}

// Per-expert weight gradients ([E, ...]) are written whole by every expert with rows; the others' are
// zero. Allocating them with empty() and zeroing only those avoids a memset of every gradient.
torch::Tensor expert_gradient_like(const torch::Tensor& weight, const std::vector<std::int64_t>& offsets) {
  torch::Tensor grad = torch::empty_like(weight);
  for (size_t e = 0; e + 1 < offsets.size(); ++e) {
    if (offsets[e + 1] == offsets[e]) grad[static_cast<std::int64_t>(e)].zero_();
  }
  return grad;
}

// The sum of the threads' accumulators (those that ran), in thread order, or zeros if none did.
torch::Tensor sum_of(const std::vector<torch::Tensor>& accumulators, torch::IntArrayRef sizes,
                     torch::TensorOptions options) {
  torch::Tensor total;
  for (const torch::Tensor& a : accumulators) {
    if (!a.defined()) continue;
    total = total.defined() ? total.add_(a) : a;
  }
  return total.defined() ? total : torch::zeros(sizes, options);
}

// The rows of x ([N, D], contiguous) at `index` ([n] int64 of rows of x): [n, D]. On CPU one memcpy
// per row; index_select runs a TensorIterator copy per row, which for rows of 1 KiB costs more than
// the copy (three gathers of R rows per layer step: 98k rows at G = 8).
torch::Tensor gather_block_rows(const torch::Tensor& x, const torch::Tensor& index) {
  if (!x.is_cpu()) return x.index_select(0, index);
  const std::int64_t n = index.size(0);
  torch::Tensor out = torch::empty({n, x.size(1)}, x.options());
  const std::int64_t* idx = index.data_ptr<std::int64_t>();
  const auto row_bytes = static_cast<size_t>(x.size(1) * x.element_size());
  const auto* src = static_cast<const char*>(x.data_ptr());
  auto* dst = static_cast<char*>(out.data_ptr());
  for (std::int64_t i = 0; i < n; ++i) std::memcpy(dst + i * row_bytes, src + idx[i] * row_bytes, row_bytes);
  return out;
}

template <typename Acc, typename Src>
void add_rows(Acc* acc, const std::int64_t* index, const Src* src, std::int64_t n, std::int64_t d) {
  for (std::int64_t i = 0; i < n; ++i) {
    Acc* a = acc + index[i] * d;
    const Src* s = src + i * d;
    for (std::int64_t j = 0; j < d; ++j) a[j] += static_cast<Acc>(s[j]);
  }
}

// acc[index[i]] += src[i] for every row i, in acc's dtype. acc: [N, D] contiguous; src: [n, D].
// On CPU a plain loop (index_add_ pays a TensorIterator per row, ~25% of the layer at G = 8).
void scatter_add_rows(torch::Tensor& acc, const torch::Tensor& index, const torch::Tensor& src) {
  const std::int64_t n = index.size(0), d = acc.size(1);
  const std::int64_t* idx = index.data_ptr<std::int64_t>();
  if (acc.is_cpu() && acc.scalar_type() == torch::kFloat32) {
    const torch::Tensor s = src.contiguous();
    switch (s.scalar_type()) {
      case torch::kFloat32:
        return add_rows(acc.data_ptr<float>(), idx, s.data_ptr<float>(), n, d);
      case torch::kBFloat16:
        return add_rows(acc.data_ptr<float>(), idx, s.data_ptr<c10::BFloat16>(), n, d);
      case torch::kFloat16:
        return add_rows(acc.data_ptr<float>(), idx, s.data_ptr<c10::Half>(), n, d);
      default:
        break;
    }
  }
  acc.index_add_(0, index, src.to(acc.scalar_type()));  // other devices and dtypes
}

struct GroupedExperts : torch::autograd::Function<GroupedExperts> {
  // Shapes: x [N, D], w1 (w3) [E, D, W], w2 [E, W, D], weight_of_row [R], token_of_row [R].
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w1,
                               const torch::Tensor& w2, const c10::optional<torch::Tensor>& w3_opt,
                               const torch::Tensor& weight_of_row, const torch::Tensor& token_of_row,
                               const std::vector<std::int64_t>& rows, bool swiglu) {
    NoAutocastGuard no_autocast(x.device().type());  // dtypes were chosen by the caller
    const torch::Tensor w3 = w3_opt.value_or(torch::Tensor());
    const std::int64_t r = token_of_row.size(0), w = w1.size(2);
    const std::vector<std::int64_t> offsets = offsets_of(rows);

    // 1. Gather each expert's rows into a cache-sized block and project: pre (up) = xs_e @ w1[e] (w3[e]).
    torch::Tensor pre = torch::empty({r, w}, x.options());                            // [R, W]
    torch::Tensor up = swiglu ? torch::empty({r, w}, x.options()) : torch::Tensor();  // [R, W]
    for_each_expert(offsets, nullptr, {}, {},
                    [&](std::int64_t e, std::int64_t first, std::int64_t n, torch::Tensor*) {
                      torch::Tensor xs = gather_block_rows(x, token_of_row.narrow(0, first, n));  // [n, D]
                      torch::Tensor pre_e = pre.narrow(0, first, n);
                      torch::mm_out(pre_e, xs, w1[e]);
                      if (swiglu) {
                        torch::Tensor up_e = up.narrow(0, first, n);
                        torch::mm_out(up_e, xs, w3[e]);
                      }
                    });
    // 2. Activation and routing weight on all rows at once: hw = act(pre) * weight.
    torch::Tensor h = swiglu ? torch::silu(pre) * up : torch::gelu(pre);  // [R, W]
    torch::Tensor hw = h * weight_of_row.unsqueeze(1);                    // [R, W]
    // 3. Output projection per expert and scatter-add into y: y[t] += hw_r @ w2[e].
    const torch::TensorOptions acc = x.options().dtype(accumulation_dtype(x));
    std::vector<torch::Tensor> partial;
    for_each_expert(offsets, &partial, x.sizes(), acc,
                    [&](std::int64_t e, std::int64_t first, std::int64_t n, torch::Tensor* y) {
                      torch::Tensor ys = torch::mm(hw.narrow(0, first, n), w2[e]);  // [n, D]
                      scatter_add_rows(*y, token_of_row.narrow(0, first, n), ys);
                    });
    torch::Tensor y = sum_of(partial, x.sizes(), acc);  // [N, D]

    ctx->save_for_backward({x, w1, w2, w3, weight_of_row, token_of_row});
    ctx->saved_data["pre"] = pre;
    ctx->saved_data["up"] = up;
    ctx->saved_data["h"] = h;
    ctx->saved_data["hw"] = hw;
    ctx->saved_data["rows"] = rows;
    ctx->saved_data["swiglu"] = swiglu;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &x = saved[0], &w1 = saved[1], &w2 = saved[2], &w3 = saved[3],
                        &weight_of_row = saved[4], &token_of_row = saved[5];
    const torch::Tensor pre = ctx->saved_data["pre"].toTensor();  // [R, W]
    const torch::Tensor h = ctx->saved_data["h"].toTensor();      // [R, W]
    const torch::Tensor hw = ctx->saved_data["hw"].toTensor();    // [R, W]
    const std::vector<std::int64_t> offsets = offsets_of(ctx->saved_data["rows"].toIntVector());
    const bool swiglu = ctx->saved_data["swiglu"].toBool();
    NoAutocastGuard no_autocast(x.device().type());
    const torch::Tensor grad_y = grad_outputs[0].to(x.scalar_type()).contiguous();  // [N, D]

    // 1. Per expert: gather the output gradient of its rows; grad w2[e] = hw_e^T g_e, grad hw_e = g_e
    // w2[e]^T.
    torch::Tensor grad_w2 = expert_gradient_like(w2, offsets);  // [E, W, D]
    torch::Tensor grad_hw = torch::empty_like(hw);              // [R, W]
    for_each_expert(
        offsets, nullptr, {}, {}, [&](std::int64_t e, std::int64_t first, std::int64_t n, torch::Tensor*) {
          torch::Tensor g = gather_block_rows(grad_y, token_of_row.narrow(0, first, n));  // [n, D]
          torch::Tensor grad_w2_e = grad_w2[e];
          torch::mm_out(grad_w2_e, hw.narrow(0, first, n).t(), g);
          torch::Tensor grad_hw_e = grad_hw.narrow(0, first, n);
          torch::mm_out(grad_hw_e, g, w2[e].t());
        });
    // 2. All rows at once: the routing weights' gradient and the activation's backward.
    torch::Tensor grad_weight = (grad_hw * h).sum(1);             // [R]
    torch::Tensor grad_h = grad_hw * weight_of_row.unsqueeze(1);  // [R, W]
    torch::Tensor grad_pre;                                       // [R, W]
    torch::Tensor grad_up;                                        // [R, W], SwiGLU only
    if (swiglu) {
      const torch::Tensor up = ctx->saved_data["up"].toTensor();
      grad_pre = torch::silu_backward(grad_h * up, pre);
      grad_up = grad_h * torch::silu(pre);
    } else {
      grad_pre = torch::gelu_backward(grad_h, pre);
    }
    // 3. Per expert: regather its inputs for the weight gradients, scatter-add the input gradient.
    torch::Tensor grad_w1 = expert_gradient_like(w1, offsets);                             // [E, D, W]
    torch::Tensor grad_w3 = swiglu ? expert_gradient_like(w3, offsets) : torch::Tensor();  // [E, D, W]
    const torch::TensorOptions acc = x.options().dtype(accumulation_dtype(x));
    std::vector<torch::Tensor> partial;
    for_each_expert(offsets, &partial, x.sizes(), acc,
                    [&](std::int64_t e, std::int64_t first, std::int64_t n, torch::Tensor* grad_x) {
                      const torch::Tensor tokens = token_of_row.narrow(0, first, n);
                      torch::Tensor xs = gather_block_rows(x, tokens);  // [n, D]
                      torch::Tensor gp = grad_pre.narrow(0, first, n);
                      torch::Tensor grad_w1_e = grad_w1[e];
                      torch::mm_out(grad_w1_e, xs.t(), gp);
                      torch::Tensor grad_xs = torch::mm(gp, w1[e].t());  // [n, D]
                      if (swiglu) {
                        torch::Tensor gu = grad_up.narrow(0, first, n);
                        torch::Tensor grad_w3_e = grad_w3[e];
                        torch::mm_out(grad_w3_e, xs.t(), gu);
                        grad_xs.addmm_(gu, w3[e].t());
                      }
                      scatter_add_rows(*grad_x, tokens, grad_xs);
                    });
    torch::Tensor grad_x = sum_of(partial, x.sizes(), acc).to(x.scalar_type());  // [N, D]
    return {grad_x,      grad_w1,         grad_w2,         grad_w3,
            grad_weight, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor grouped_experts(const torch::Tensor& x, const torch::Tensor& w1, const torch::Tensor& w2,
                              const torch::Tensor& w3, const torch::Tensor& weight_of_row,
                              const torch::Tensor& token_of_row,
                              const std::vector<std::int64_t>& rows_per_expert, ActivationKind activation) {
  c10::optional<torch::Tensor> w3_opt;  // an undefined Tensor is not a valid autograd input
  if (w3.defined()) w3_opt = w3;
  return GroupedExperts::apply(x.contiguous(), w1.contiguous(), w2.contiguous(), w3_opt, weight_of_row,
                               token_of_row, rows_per_expert, activation == ActivationKind::swiglu);
}

}  // namespace lab
