#pragma once
// Mixed precision on CPU (bf16) and CUDA through LibTorch's autocast, behind a small RAII API so the
// version-specific calls (LibTorch 1.13 vs >= 2.4) live in one file.
//
//   { lab::AutocastGuard bf16(torch::kCPU, torch::kBFloat16);  // matrix products run in bf16
//     auto out = model->forward(tokens); loss = ...; }
//   loss.backward();                                             // outside the guard, as in Python
//
// Inside, the MoE router and its softmax stay fp32 (the router switches autocast off locally).

#include <torch/torch.h>

namespace lab {

// Enables autocast on `device_type` with `dtype` for the guard's lifetime; restores the previous
// state and clears the cast-weight cache on exit (as Python's torch.autocast does).
class AutocastGuard {
 public:
  AutocastGuard(torch::DeviceType device_type, torch::Dtype dtype, bool enabled = true);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  torch::DeviceType device_type_;
  bool previous_enabled_;
  torch::Dtype previous_dtype_;
};

// Switches autocast off on `device_type` for the guard's lifetime (for fp32 islands like the router).
class NoAutocastGuard {
 public:
  explicit NoAutocastGuard(torch::DeviceType device_type);
  ~NoAutocastGuard();
  NoAutocastGuard(const NoAutocastGuard&) = delete;
  NoAutocastGuard& operator=(const NoAutocastGuard&) = delete;

 private:
  torch::DeviceType device_type_;
  bool previous_enabled_;
};

bool autocast_enabled(torch::DeviceType device_type);
torch::Dtype autocast_dtype(torch::DeviceType device_type);

// The dtype matrix products on `x` run in: the autocast dtype if autocast is on for x's device and x
// is floating point, else x's own dtype.
torch::Dtype compute_dtype(const torch::Tensor& x);

}  // namespace lab
