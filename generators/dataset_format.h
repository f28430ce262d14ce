#pragma once
// The on-disk dataset (TASKS.md): a directory with manifest.json and, per split, a flat token file
// (uint16 little-endian) and an index of fixed-size records. Readers memory-map both.

#include <cstdint>
#include <string>

namespace lab {

constexpr int kDatasetFormatVersion = 1;
constexpr const char* kManifestFile = "manifest.json";

// One example in a split's index: tokens [offset, offset + length) of the token file, of which the
// first prompt_length are the prompt. Little-endian, 16 bytes, no padding.
struct IndexRecord {
  std::uint64_t offset;
  std::uint32_t length;
  std::uint32_t prompt_length;
};
static_assert(sizeof(IndexRecord) == 16);

inline std::string tokens_file(const std::string& split) { return split + ".tokens"; }
inline std::string index_file(const std::string& split) { return split + ".index"; }

}  // namespace lab
