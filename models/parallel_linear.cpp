#include "models/parallel_linear.h"

#include <vector>

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include "models/autocast.h"
#include "models/kernels.h"

namespace lab {
namespace {

// Calls part(i, begin, length) for each of `parts` nearly equal slices of `rows` rows, one per thread,
// with grad recording off on every thread (mm_out refuses inputs that require grad while recording).
template <typename Part>
void for_each_part(std::int64_t rows, std::int64_t parts, const Part& part) {
  at::parallel_for(0, parts, 1, [&](std::int64_t first, std::int64_t last) {
    torch::NoGradGuard no_grad;  // thread-local: each thread needs its own
    for (std::int64_t i = first; i < last; ++i) {
      const std::int64_t begin = rows * i / parts, end = rows * (i + 1) / parts;
      if (end > begin) part(i, begin, end - begin);
    }
  });
}

// out[rows] = a[rows] @ b, the rows split over the threads.
void rows_in_parallel(const torch::Tensor& a, const torch::Tensor& b, torch::Tensor& out,
                      std::int64_t parts) {
  for_each_part(a.size(0), parts, [&](std::int64_t, std::int64_t begin, std::int64_t length) {
    torch::Tensor slice = out.narrow(0, begin, length);
    at::mm_out(slice, a.narrow(0, begin, length), b);
  });
}

struct ParallelLinearFunction : torch::autograd::Function<ParallelLinearFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight) {
    RECORD_FUNCTION("lab::parallel_linear", std::vector<c10::IValue>({x, weight}));
    const torch::Tensor rows = x.reshape({-1, x.size(-1)}).contiguous();  // [R, in]
    torch::Tensor y = torch::empty({rows.size(0), weight.size(0)}, x.options());
    rows_in_parallel(rows, weight.t(), y, at::get_num_threads());
    ctx->save_for_backward({rows, weight});
    std::vector<std::int64_t> shape = x.sizes().vec();
    shape.back() = weight.size(0);
    return y.view(shape);
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    RECORD_FUNCTION("lab::parallel_linear_backward", std::vector<c10::IValue>());
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& rows = saved[0];
    const torch::Tensor& weight = saved[1];
    const torch::Tensor dy = grads[0].reshape({-1, weight.size(0)}).contiguous();  // [R, out]
    const std::int64_t parts = at::get_num_threads();
    torch::Tensor dx = torch::empty_like(rows);
    rows_in_parallel(dy, weight, dx, parts);
    // dW = dY^T X, one partial product per part of the rows, then added in order.
    torch::Tensor partial = torch::zeros({parts, weight.size(0), weight.size(1)}, weight.options());
    for_each_part(rows.size(0), parts, [&](std::int64_t i, std::int64_t begin, std::int64_t length) {
      torch::Tensor out = partial[i];
      at::mm_out(out, dy.narrow(0, begin, length).t(), rows.narrow(0, begin, length));
    });
    torch::Tensor dw = partial[0].clone();
    for (std::int64_t i = 1; i < parts; ++i) dw.add_(partial[i]);
    std::vector<std::int64_t> shape = grads[0].sizes().vec();
    shape.back() = weight.size(1);
    return {dx.view(shape), dw};
  }
};

}  // namespace

bool parallel_linear_applies(const torch::Tensor& x, const torch::Tensor& weight) {
  if (kernels() != Kernels::fused || at::get_num_threads() < 2 || at::in_parallel_region()) return false;
  if (autocast_enabled(torch::kCPU)) return false;  // autocast's bf16 products stay LibTorch's
  return x.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
         weight.scalar_type() == torch::kFloat32 && x.dim() >= 2 && weight.dim() == 2 &&
         x.size(-1) == weight.size(1);
}

torch::Tensor linear_projection(const torch::Tensor& x, const torch::Tensor& weight) {
  if (parallel_linear_applies(x, weight)) return ParallelLinearFunction::apply(x, weight);
  return torch::nn::functional::linear(x, weight);
}

}  // namespace lab
