#pragma once
// How much memory this process can still use: what the kernel reports as available (MemAvailable in
// /proc/meminfo), capped by the cgroup's limit where one is set (containers, Slurm jobs). Checked
// before allocating a model, so that a model too large fails with a message instead of an allocation
// error deep inside LibTorch (or the OOM killer).

#include <cstdint>
#include <optional>

namespace lab {

// Bytes available to this process; nullopt where the system does not say (not Linux).
std::optional<std::uint64_t> available_memory_bytes();

}  // namespace lab
