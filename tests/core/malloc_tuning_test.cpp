#include "core/malloc_tuning.h"

#include <cstdlib>
#include <initializer_list>
#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace lab {
namespace {

// Sets an environment variable for one scope, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

#if defined(__GLIBC__)
TEST(MallocTuning, TunesGlibcUnlessTheUserSetMallocTunables) {
  {
    ScopedEnv tunables("GLIBC_TUNABLES", nullptr);
    ScopedEnv mmap("MALLOC_MMAP_THRESHOLD_", nullptr);
    ScopedEnv trim("MALLOC_TRIM_THRESHOLD_", nullptr);
    EXPECT_TRUE(keep_freed_memory());
  }
  for (const char* user_setting : {"GLIBC_TUNABLES", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"}) {
    ScopedEnv set(user_setting, "1048576");
    EXPECT_FALSE(keep_freed_memory()) << user_setting;
  }
}
#endif

}  // namespace
}  // namespace lab
