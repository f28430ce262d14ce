#include "generators/permutation.h"

#include <cassert>

#include "generators/rng.h"

namespace lab {

Permutation::Permutation(std::uint64_t size, std::uint64_t key) : size_(size) {
  assert(size > 0 && size <= (1ULL << 62));
  int bits = 2;
  while (bits < 62 && (1ULL << bits) < size) bits += 2;
  half_bits_ = bits / 2;
  half_mask_ = (1ULL << half_bits_) - 1;
  for (int round = 0; round < 4; ++round) keys_[round] = mix64(key + 0x9E3779B97F4A7C15ULL * (round + 1));
}

std::uint64_t Permutation::encrypt(std::uint64_t x) const {
  std::uint64_t left = x >> half_bits_;
  std::uint64_t right = x & half_mask_;
  for (std::uint64_t key : keys_) {
    std::uint64_t next_right = left ^ (mix64(right ^ key) & half_mask_);
    left = right;
    right = next_right;
  }
  return (left << half_bits_) | right;
}

std::uint64_t Permutation::operator()(std::uint64_t x) const {
  assert(x < size_);
  // The Feistel domain is at most 4x the size, so the walk takes a few steps on average; it ends
  // because encryption permutes the larger domain and x's cycle returns into [0, size).
  do {
    x = encrypt(x);
  } while (x >= size_);
  return x;
}

}  // namespace lab
