#include "core/malloc_tuning.h"

#include <cstdlib>
#include <initializer_list>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace lab {

bool keep_freed_memory() {
#if defined(__GLIBC__)
  for (const char* user_setting : {"GLIBC_TUNABLES", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"}) {
    if (std::getenv(user_setting) != nullptr) return false;
  }
  constexpr int kMmapThreshold = 32 << 20;  // the largest glibc accepts on 64-bit
  constexpr int kTrimThreshold = 1 << 30;
  return mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1;
#else
  return false;
#endif
}

}  // namespace lab
