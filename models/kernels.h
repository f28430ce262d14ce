#pragma once
// Which implementation runs the operators that have a fused CPU kernel (models/fused_attention.h):
// `fused` (the default) uses the kernel where it applies (fp32 on the CPU, no KV cache) and the plain
// LibTorch composition elsewhere; `reference` always runs the plain composition, so that a result can
// be checked against it end to end (`lab --kernels reference ...`). Process-wide, like the thread
// count: set it once before building models.

#include <string_view>

namespace lab {

enum class Kernels { fused, reference };

Kernels kernels();
void set_kernels(Kernels kind);
std::string_view to_string(Kernels kind);

// Sets the kernels for the lifetime of the guard (tests and benchmarks compare both paths).
class KernelsGuard {
 public:
  explicit KernelsGuard(Kernels kind) : previous_(kernels()) { set_kernels(kind); }
  ~KernelsGuard() { set_kernels(previous_); }
  KernelsGuard(const KernelsGuard&) = delete;
  KernelsGuard& operator=(const KernelsGuard&) = delete;

 private:
  Kernels previous_;
};

}  // namespace lab
