#include "trainer/batch_parts.h"

#include <algorithm>

#include <ATen/Parallel.h>

#include "models/kernels.h"

namespace lab {

int batch_parts(torch::Device device, std::size_t examples) {
  if (!device.is_cpu() || kernels() != Kernels::fused || at::in_parallel_region()) return 1;
  return static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(at::get_num_threads()), examples));
}

void backward_in_parts(int parts, const std::vector<torch::Tensor>& parameters,
                       const std::function<torch::Tensor(int part)>& objective) {
  std::vector<std::vector<torch::Tensor>> grads(static_cast<std::size_t>(parts));
  // Inside at::parallel_for every op of a part runs on the part's thread alone.
  at::parallel_for(0, parts, 1, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t i = first; i < last; ++i) {
      grads[i] = torch::autograd::grad({objective(static_cast<int>(i))}, parameters, /*grad_outputs=*/{},
                                       /*retain_graph=*/false, /*create_graph=*/false, /*allow_unused=*/true);
    }
  });
  for (std::size_t p = 0; p < parameters.size(); ++p) {
    torch::Tensor sum;
    for (const std::vector<torch::Tensor>& part : grads) {
      if (!part[p].defined()) continue;  // a part that reached no token of this expert
      sum = sum.defined() ? sum + part[p] : part[p];
    }
    if (!sum.defined()) continue;
    // The optimizer detaches gradients in place, which a view (of a packed gradient) refuses.
    torch::Tensor parameter = parameters[p];
    parameter.mutable_grad() = sum.is_view() ? sum.clone() : sum;
  }
}

}  // namespace lab
