#include "generators/generator.h"

#include "generators/rng.h"

namespace lab {

std::uint64_t hash_tokens(const Token* tokens, std::size_t count, std::uint64_t seed) {
  std::uint64_t h = mix64(seed ^ (count * 0x9E3779B97F4A7C15ULL));
  for (std::size_t i = 0; i < count; ++i) h = mix64(h ^ (tokens[i] + 0x100000001B3ULL * (i + 1)));
  return h;
}

}  // namespace lab
