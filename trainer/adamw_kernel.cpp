#include "trainer/adamw_kernel.h"

#include <cmath>

#include "models/cpu_vectors.h"  // LAB_CPU_CLONES

namespace lab {

// A loop GCC vectorises in each clone (-fno-math-errno lets sqrt become one instruction;
// trainer/CMakeLists.txt). -ffp-contract=off keeps GCC from contracting products and sums into FMAs
// in the vector body but not in the scalar tail: with it every element rounds alike wherever a
// thread's span starts, so the update is the same at any thread count.
LAB_CPU_CLONES void adamw_update(float* __restrict w, const float* __restrict g, float* __restrict m,
                                 float* __restrict v, std::int64_t n, const AdamWConstants& c) {
  const float decay = c.decay, beta1 = c.beta1, beta2 = c.beta2, rest1 = c.rest1, rest2 = c.rest2,
              step_size = c.step_size, sqrt_correction = c.sqrt_correction, eps = c.eps;
  for (std::int64_t i = 0; i < n; ++i) {
    const float grad = g[i];
    const float mean = m[i] * beta1 + rest1 * grad;
    const float square = v[i] * beta2 + rest2 * grad * grad;
    m[i] = mean;
    v[i] = square;
    const float decayed = w[i] * decay;
    w[i] = decayed - step_size * mean / (std::sqrt(square) / sqrt_correction + eps);
  }
}

}  // namespace lab
