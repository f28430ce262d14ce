#pragma once
// Helpers for tests that look at dataset files directly: whole-file reads and writes
// (tests/support/files.h), and a bitwise CRC-32C written from its definition (an independent
// reference for the manifest's checksums).

#include <cstdint>
#include <string>

#include "tests/support/files.h"

namespace lab::test {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), one bit at a time.
inline std::uint32_t bitwise_crc32c(const std::string& bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : bytes) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return ~crc;
}

}  // namespace lab::test
