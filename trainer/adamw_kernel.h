#pragma once
// One AdamW update of a span of fp32 parameters, element by element: what torch::optim::AdamW's ten
// tensor operations compute, in one pass (trainer/fused_adamw.h). Plain C++, no LibTorch.

#include <cstdint>

namespace lab {

// The step's constants, as torch::optim::AdamW derives them from its options and the step count.
struct AdamWConstants {
  float decay;            // 1 - lr * weight_decay (1 without weight decay)
  float beta1, beta2;     // the moments' decay
  float rest1, rest2;     // 1 - beta1 and 1 - beta2, computed in double as AdamW does
  float step_size;        // lr / (1 - beta1^step)
  float sqrt_correction;  // sqrt(1 - beta2^step)
  float eps;
};

// For each i < n: w *= decay; m = beta1 m + rest1 g; v = beta2 v + rest2 g^2;
// w -= step_size m / (sqrt(v) / sqrt_correction + eps), rounded step by step as AdamW's operations are.
void adamw_update(float* w, const float* g, float* m, float* v, std::int64_t n, const AdamWConstants& c);

}  // namespace lab
