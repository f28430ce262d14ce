#include "models/combine_rows.h"

#include <algorithm>
#include <initializer_list>

#include "models/cuda/combine_rows.h"
#include "models/kernels.h"

#ifdef LAB_CUDA_KERNELS
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace lab {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// y from rows ordered by token: perm [R] and offsets [tokens + 1] (models/cuda/combine_rows.h).
void combine_on_device(const torch::Tensor& rows, const torch::Tensor& perm, const torch::Tensor& offsets,
                       torch::Tensor& y) {
  const std::int64_t tokens = y.size(0), width = y.size(1);
  if (rows.is_cpu()) {
    const float* r = rows.data_ptr<float>();
    const std::int64_t *p = perm.data_ptr<std::int64_t>(), *o = offsets.data_ptr<std::int64_t>();
    float* out = y.data_ptr<float>();
    at::parallel_for(0, tokens, 64, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t t = begin; t < end; ++t)
        for (std::int64_t f = 0; f < width; ++f)
          out[t * width + f] = cuda::combine_element(r, p, o, width, t, f);
    });
    return;
  }
#ifdef LAB_CUDA_KERNELS
  const c10::cuda::CUDAGuard on_device(rows.device());
  const char* failed = cuda::launch_combine_rows(
      rows.data_ptr<float>(), perm.data_ptr<std::int64_t>(), offsets.data_ptr<std::int64_t>(), tokens, width,
      y.data_ptr<float>(), c10::cuda::getCurrentCUDAStream().stream());
  TORCH_CHECK(failed == nullptr, "combine_rows: lab's CUDA kernel did not launch on ", rows.device(), ": ",
              failed,
              " (built for TORCH_CUDA_ARCH_LIST 8.0;9.0 by the torch2 preset: rebuild with this GPU's "
              "architecture in TORCH_CUDA_ARCH_LIST, or run with --kernels reference)");
#else
  TORCH_CHECK(false, "combine_rows: this build has no CUDA kernels");
#endif
}

struct CombineRows : torch::autograd::Function<CombineRows> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& rows,
                               const torch::Tensor& token_of_row, std::int64_t tokens) {
    ctx->save_for_backward({token_of_row});
    const torch::Tensor data = rows.contiguous();
    // The rows ordered by token (stable: a token's rows keep their order), and where each token's rows
    // start: the first sorted position of a key >= t (searchsorted; bincount would read the keys' range
    // back to the host).
    auto [sorted, perm] = torch::sort(token_of_row, /*stable=*/true, /*dim=*/0, /*descending=*/false);
    const torch::Tensor offsets =
        torch::searchsorted(sorted, torch::arange(tokens + 1, token_of_row.options()));
    torch::Tensor y = torch::empty({tokens, data.size(1)}, data.options());
    combine_on_device(data, perm.contiguous(), offsets, y);
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const torch::Tensor token_of_row = ctx->get_saved_variables()[0];
    return {grads[0].index_select(0, token_of_row), torch::Tensor(), torch::Tensor()};
  }
};

struct GatherRows : torch::autograd::Function<GatherRows> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& token_of_row) {
    ctx->save_for_backward({token_of_row});
    ctx->saved_data["tokens"] = x.size(0);
    return x.index_select(0, token_of_row);
  }

  // 16-bit gradients are summed in fp32 (one rounding per token, not one per row) and cast back.
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const torch::Tensor token_of_row = ctx->get_saved_variables()[0];
    const torch::Tensor grad = grads[0];
    return {combine_rows(grad.to(torch::kFloat32), token_of_row, ctx->saved_data["tokens"].toInt())
                .to(grad.dtype()),
            torch::Tensor()};
  }
};

// Whether lab's deterministic combine serves `rows` (of `dtypes`) on their device.
bool deterministic_combine(const torch::Tensor& rows, std::initializer_list<torch::Dtype> dtypes) {
  return kernels() == Kernels::fused &&
         std::find(dtypes.begin(), dtypes.end(), rows.scalar_type()) != dtypes.end() &&
         (rows.is_cpu() || (rows.is_cuda() && cuda_kernels_built()));
}

}  // namespace

bool cuda_kernels_built() {
#ifdef LAB_CUDA_KERNELS
  return true;
#else
  return false;
#endif
}

torch::Tensor combine_rows_reference(const torch::Tensor& rows, const torch::Tensor& token_of_row,
                                     std::int64_t tokens) {
  return torch::zeros({tokens, rows.size(1)}, rows.options()).index_add(0, token_of_row, rows);
}

torch::Tensor combine_rows(const torch::Tensor& rows, const torch::Tensor& token_of_row,
                           std::int64_t tokens) {
  if (!deterministic_combine(rows, {torch::kFloat32}))
    return combine_rows_reference(rows, token_of_row, tokens);
  return CombineRows::apply(rows, token_of_row.to(torch::kInt64), tokens);
}

torch::Tensor gather_rows(const torch::Tensor& x, const torch::Tensor& token_of_row) {
  // The gradient arrives in x's dtype; a 16-bit one is combined in fp32.
  const bool combined = deterministic_combine(x, {torch::kFloat32, torch::kBFloat16, torch::kFloat16});
  if (!combined || !x.requires_grad()) return x.index_select(0, token_of_row);
  return GatherRows::apply(x, token_of_row.to(torch::kInt64));
}

}  // namespace lab
