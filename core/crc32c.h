#pragma once
// CRC-32C (Castagnoli), the checksum of every dataset file: standard (iSCSI, ext4, Python's `crc32c`
// package compute the same value), and fast (SSE4.2 instruction when the CPU has it).

#include <cstddef>
#include <cstdint>

namespace lab {

// Extends `crc` (0 for a fresh checksum) with `size` bytes.
std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t size);

}  // namespace lab
