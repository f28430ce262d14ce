#include "core/system_memory.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

namespace lab {
namespace {

// MemAvailable of /proc/meminfo, in bytes.
std::optional<std::uint64_t> meminfo_available() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("MemAvailable:")) continue;
    std::istringstream fields(line.substr(13));
    std::uint64_t kib = 0;
    if (fields >> kib) return kib * 1024;
  }
  return std::nullopt;
}

// memory.max - memory.current of this process's cgroup (v2), if it has a limit.
std::optional<std::uint64_t> cgroup_headroom() {
  std::ifstream self("/proc/self/cgroup");
  std::string line, path;
  while (std::getline(self, line)) {
    if (line.starts_with("0::")) path = line.substr(3);
  }
  if (path.empty()) return std::nullopt;
  const std::string dir = "/sys/fs/cgroup" + (path == "/" ? std::string() : path);
  std::ifstream max_in(dir + "/memory.max"), current_in(dir + "/memory.current");
  std::string max_text;
  std::uint64_t current = 0;
  if (!(max_in >> max_text) || max_text == "max" || !(current_in >> current)) return std::nullopt;
  try {
    const std::uint64_t limit = std::stoull(max_text);
    return limit > current ? limit - current : 0;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<std::uint64_t> available_memory_bytes() {
  std::optional<std::uint64_t> available = meminfo_available();
  if (std::optional<std::uint64_t> cgroup = cgroup_headroom()) {
    available = available ? std::min(*available, *cgroup) : cgroup;
  }
  return available;
}

}  // namespace lab
