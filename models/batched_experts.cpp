#include "models/batched_experts.h"

#include <torch/version.h>

#include "models/combine_rows.h"
#include "models/grouped_experts.h"
#include "models/kernels.h"

#ifdef LAB_CUDA_KERNELS
#include <ATen/cuda/CUDAContext.h>
#endif

// at::_grouped_mm: in LibTorch 2.8 on CUDA, with a CPU implementation by 2.11 (the one 2.x lab is built
// against; `setup.sh torch2`).
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 11)
#define LAB_HAS_GROUPED_MM 1
#endif

namespace lab {
namespace {

// Whether at::_grouped_mm runs its fast kernel here: bf16 on Hopper or Blackwell datacenter GPUs
// (sm_90, sm_100; LibTorch 2.11's list), rows whose strides are multiples of 16 bytes. Elsewhere it
// falls back to a loop over experts that copies the offsets to the host (a synchronisation per call),
// which the padded products avoid.
bool grouped_mm_is_fast([[maybe_unused]] const torch::Tensor& x, [[maybe_unused]] const torch::Tensor& w1) {
#if defined(LAB_HAS_GROUPED_MM) && defined(LAB_CUDA_KERNELS)
  if (!x.is_cuda() || x.scalar_type() != torch::kBFloat16 || x.size(1) % 8 != 0 || w1.size(2) % 8 != 0)
    return false;
  const int major = at::cuda::getDeviceProperties(x.device().index())->major;
  return major == 9 || major == 10;
#else
  return false;
#endif
}

}  // namespace

bool grouped_mm_available() {
#ifdef LAB_HAS_GROUPED_MM
  return true;
#else
  return false;
#endif
}

torch::Tensor grouped_mm_experts(const torch::Tensor& x, const torch::Tensor& w1, const torch::Tensor& w2,
                                 const torch::Tensor& w3, const torch::Tensor& weight_of_row,
                                 const torch::Tensor& token_of_row, const torch::Tensor& rows_per_expert,
                                 ActivationKind activation) {
#ifdef LAB_HAS_GROUPED_MM
  const std::int64_t n = x.size(0), d = x.size(1);
  const torch::Dtype accumulate = accumulation_dtype(x);
  if (token_of_row.size(0) == 0) return torch::zeros({n, d}, x.options().dtype(accumulate));
  // The rows are grouped by expert already: expert e's are rows [ends[e-1], ends[e]).
  const torch::Tensor ends = rows_per_expert.cumsum(0).to(torch::kInt32);  // [E]
  const torch::Tensor rows = gather_rows(x, token_of_row);                 // [R, D]
  const torch::Tensor pre = at::_grouped_mm(rows, w1, ends);               // [R, W]
  const torch::Tensor h = activation == ActivationKind::swiglu
                              ? torch::silu(pre) * at::_grouped_mm(rows, w3, ends)
                              : torch::gelu(pre);                                       // [R, W]
  const torch::Tensor out = at::_grouped_mm(h * weight_of_row.unsqueeze(1), w2, ends);  // [R, D]
  return combine_rows(out.to(accumulate), token_of_row, n);                             // [N, D]
#else
  (void)x, (void)w1, (void)w2, (void)w3, (void)weight_of_row, (void)token_of_row, (void)rows_per_expert,
      (void)activation;
  TORCH_CHECK(false, "grouped_mm_experts: at::_grouped_mm needs LibTorch 2.11 or later; this is ",
              TORCH_VERSION);
#endif
}

torch::Tensor batched_experts(const torch::Tensor& x, const torch::Tensor& w1, const torch::Tensor& w2,
                              const torch::Tensor& w3, const torch::Tensor& weight_of_row,
                              const torch::Tensor& token_of_row, const torch::Tensor& rows_per_expert,
                              ActivationKind activation) {
  const std::int64_t n = x.size(0), d = x.size(1), experts = w1.size(0), width = w1.size(2);
  if (kernels() == Kernels::fused && grouped_mm_is_fast(x, w1))
    return grouped_mm_experts(x, w1, w2, w3, weight_of_row, token_of_row, rows_per_expert, activation);
  const std::int64_t rows = token_of_row.size(0);
  const torch::Dtype accumulate = accumulation_dtype(x);
  if (rows == 0) return torch::zeros({n, d}, x.options().dtype(accumulate));

  // Where each row goes: its expert, and its rank among that expert's rows.
  const auto index = token_of_row.options().dtype(torch::kInt64);
  const torch::Tensor counts = rows_per_expert.to(index);                           // [E]
  const torch::Tensor ends = counts.cumsum(0);                                      // [E]
  const torch::Tensor row = torch::arange(rows, index);                             // [R]
  const torch::Tensor expert_of_row = torch::searchsorted(ends, row, false, true);  // [R]
  const torch::Tensor rank = row - (ends - counts).index_select(0, expert_of_row);  // [R]
  const std::int64_t capacity = counts.max().item<std::int64_t>();                  // C: one host read
  const torch::Tensor slot = expert_of_row * capacity + rank;                       // [R] into E * C

  auto padded = [&](const torch::Tensor& rows_of, std::int64_t columns) {  // [R, K] -> [E, C, K]
    return torch::zeros({experts * capacity, columns}, rows_of.options())
        .index_add(0, slot, rows_of)
        .view({experts, capacity, columns});
  };
  const torch::Tensor block = padded(gather_rows(x, token_of_row), d);  // [E, C, D]
  const torch::Tensor pre = torch::bmm(block, w1);                      // [E, C, W]
  const torch::Tensor h = activation == ActivationKind::swiglu ? torch::silu(pre) * torch::bmm(block, w3)
                                                               : torch::gelu(pre);  // [E, C, W]
  const torch::Tensor weighted =
      h.view({experts * capacity, width}).index_select(0, slot) * weight_of_row.unsqueeze(1);  // [R, W]
  const torch::Tensor out = torch::bmm(padded(weighted, width), w2);                           // [E, C, D]
  const torch::Tensor out_rows = out.view({experts * capacity, d}).index_select(0, slot);      // [R, D]
  return combine_rows(out_rows.to(accumulate), token_of_row, n);                               // [N, D]
}

}  // namespace lab
