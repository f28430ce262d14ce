#pragma once
// What the lab's CPU kernels (models/attention_kernels.cpp) share: GCC's vector extensions (a vector
// of N floats is N lanes of one register, or several registers, whatever the target), so that the
// arithmetic's shape does not depend on what the auto-vectoriser makes of small loops, and the clones for
// AVX-512, AVX2 + FMA and the baseline, chosen at load time for the CPU. Helpers are always inlined, so each
// clone's target applies to all of a kernel's arithmetic. The kernels' translation units take
// -fno-trapping-math (GCC vectorises compares and selects only then), -fno-tree-loop-distribute-patterns (no
// calls to memcpy and memset for a few floats) and -Wno-psabi (models/CMakeLists.txt). Include only from such
// translation units.

#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#define LAB_CPU_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define LAB_CPU_CLONES
#endif
#define LAB_INLINE inline __attribute__((always_inline))

namespace lab::cpu {

template <std::int64_t N>
struct VecOf {
  typedef float type __attribute__((vector_size(N * sizeof(float))));
  typedef std::int32_t ints __attribute__((vector_size(N * sizeof(std::int32_t))));
};
template <std::int64_t N>
using Vec = typename VecOf<N>::type;

template <std::int64_t N>
LAB_INLINE Vec<N> load(const float* p) {
  Vec<N> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <std::int64_t N>
LAB_INLINE void store(float* p, Vec<N> v) {
  std::memcpy(p, &v, sizeof v);
}

// A per-thread buffer of at least `floats` floats (kept between calls).
inline float* scratch(std::int64_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < static_cast<size_t>(floats)) buffer.resize(static_cast<size_t>(floats));
  return buffer.data();
}

}  // namespace lab::cpu
