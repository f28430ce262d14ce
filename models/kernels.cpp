#include "models/kernels.h"

#include <atomic>

namespace lab {
namespace {
std::atomic<Kernels> g_kernels{Kernels::fused};
}  // namespace

Kernels kernels() { return g_kernels.load(std::memory_order_relaxed); }
void set_kernels(Kernels kind) { g_kernels.store(kind, std::memory_order_relaxed); }

std::string_view to_string(Kernels kind) { return kind == Kernels::fused ? "fused" : "reference"; }

}  // namespace lab
