#include "trainer/fused_adamw.h"

#include <cmath>

#include <ATen/Parallel.h>

#include "models/kernels.h"
#include "trainer/adamw_kernel.h"

namespace lab {
namespace {

bool fusable(const torch::Tensor& p) {
  return p.device().is_cpu() && p.scalar_type() == torch::kFloat32 && p.is_contiguous() &&
         p.grad().scalar_type() == torch::kFloat32 && p.grad().is_contiguous() && !p.grad().is_sparse();
}

}  // namespace

torch::Tensor FusedAdamW::step(LossClosure closure) {
  bool fused = kernels() == Kernels::fused;
  for (const auto& group : param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamWOptions&>(group.options());
    for (const torch::Tensor& p : group.params()) fused = fused && (!p.grad().defined() || fusable(p));
    fused = fused && !options.amsgrad();
  }
  if (!fused) return torch::optim::AdamW::step(closure);

  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamWOptions&>(group.options());
    const double beta1 = std::get<0>(options.betas()), beta2 = std::get<1>(options.betas());
    for (torch::Tensor& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& slot = state()[optimizer_state_key(*this, p)];
      if (!slot) {  // as AdamW makes it on a parameter's first step
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& s = static_cast<torch::optim::AdamWParamState&>(*slot);
      s.step(s.step() + 1);
      const double correction1 = 1 - std::pow(beta1, s.step());
      const double correction2 = 1 - std::pow(beta2, s.step());
      const AdamWConstants c{static_cast<float>(1 - options.lr() * options.weight_decay()),
                             static_cast<float>(beta1),
                             static_cast<float>(beta2),
                             static_cast<float>(1 - beta1),
                             static_cast<float>(1 - beta2),
                             static_cast<float>(options.lr() / correction1),
                             static_cast<float>(std::sqrt(correction2)),
                             static_cast<float>(options.eps())};
      float* w = p.data_ptr<float>();
      const float* g = p.grad().data_ptr<float>();
      float* m = s.exp_avg().data_ptr<float>();
      float* v = s.exp_avg_sq().data_ptr<float>();
      at::parallel_for(0, p.numel(), 1 << 15, [&](std::int64_t begin, std::int64_t end) {
        adamw_update(w + begin, g + begin, m + begin, v + begin, end - begin, c);
      });
    }
  }
  return loss;
}

}  // namespace lab
