#pragma once
// AdamW in one pass per parameter: torch::optim::AdamW's update (decoupled weight decay, bias-
// corrected moments), computed element by element (trainer/adamw_kernel.h) instead of by ten tensor
// operations per parameter, each of which dispatches and wraps its scalar in a tensor. At the lab's
// small models that made steps 3-11% faster at one thread, more at two (BENCHMARKS.md). On the CPU
// with the fused kernels, for fp32 parameters without amsgrad; everywhere else it is AdamW's own
// step. Its state is AdamW's (step, exp_avg, exp_avg_sq, under AdamW's keys), so checkpoints do not
// change and a run resumes under either.

#include <sstream>
#include <string>
#include <type_traits>

#include <torch/torch.h>

namespace lab {

class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

// The key of `parameter`'s state in an optimizer's state(): LibTorch 1.x keys it by the text of the
// TensorImpl's address ("0x55d0c8a3b2c0"), 2.x by the address.
template <typename Optimizer>
auto optimizer_state_key(Optimizer& optimizer, const torch::Tensor& parameter) {
  using Key = typename std::decay_t<decltype(optimizer.state())>::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream key;  // as c10::guts::to_string writes it
    key << parameter.unsafeGetTensorImpl();
    return key.str();
  } else {
    return static_cast<Key>(parameter.unsafeGetTensorImpl());
  }
}

}  // namespace lab
