#include "models/batched_experts.h"

#include "models/grouped_experts.h"

namespace lab {

torch::Tensor batched_experts(const torch::Tensor& x, const torch::Tensor& w1, const torch::Tensor& w2,
                              const torch::Tensor& w3, const torch::Tensor& weight_of_row,
                              const torch::Tensor& token_of_row, const torch::Tensor& rows_per_expert,
                              ActivationKind activation) {
  const std::int64_t n = x.size(0), d = x.size(1), experts = w1.size(0), width = w1.size(2);
  const std::int64_t rows = token_of_row.size(0);
  const torch::Dtype accumulate = accumulation_dtype(x);
  torch::Tensor y = torch::zeros({n, d}, x.options().dtype(accumulate));  // [N, D]
  if (rows == 0) return y;

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
  const torch::Tensor block = padded(x.index_select(0, token_of_row), d);  // [E, C, D]
  const torch::Tensor pre = torch::bmm(block, w1);                         // [E, C, W]
  const torch::Tensor h = activation == ActivationKind::swiglu ? torch::silu(pre) * torch::bmm(block, w3)
                                                               : torch::gelu(pre);  // [E, C, W]
  const torch::Tensor weighted =
      h.view({experts * capacity, width}).index_select(0, slot) * weight_of_row.unsqueeze(1);  // [R, W]
  const torch::Tensor out = torch::bmm(padded(weighted, width), w2);                           // [E, C, D]
  const torch::Tensor out_rows = out.view({experts * capacity, d}).index_select(0, slot);      // [R, D]
  return y.index_add(0, token_of_row, out_rows.to(accumulate));                                // [N, D]
}

}  // namespace lab
