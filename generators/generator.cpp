#include "generators/generator.h"

#include "generators/rng.h"

namespace lab {

// FNV-1a over 16-bit tokens (one multiply per token), then a full 64-bit mix so that every output bit
// depends on every token: the partition uses the low bits.
std::uint64_t hash_tokens(const Token* tokens, std::size_t count, std::uint64_t seed) {
  std::uint64_t h = 0xCBF29CE484222325ULL ^ mix64(seed);
  for (std::size_t i = 0; i < count; ++i) h = (h ^ tokens[i]) * 0x100000001B3ULL;
  return mix64(h ^ count);
}

}  // namespace lab
