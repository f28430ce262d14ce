#pragma once
// Counter-based randomness: every example is a pure function of (seed, stream, index), so example i
// can be generated alone, in any order, on any thread, and the bytes never depend on the thread count.
// The integer maps are our own (not std::uniform_int_distribution, whose output differs between
// standard libraries), so a dataset is the same on every platform.

#include <cmath>
#include <cstdint>

namespace lab {

// SplitMix64's finaliser: a bijective 64-bit mix with full avalanche.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return x;
}

// xoshiro256** seeded from (seed, stream, index) through SplitMix64.
class Rng {
 public:
  Rng(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
    std::uint64_t x = mix64(seed ^ mix64(stream + 0x9E3779B97F4A7C15ULL) ^ mix64(mix64(index) + stream));
    for (std::uint64_t& word : state_) {
      x += 0x9E3779B97F4A7C15ULL;
      word = mix64(x);
    }
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, n), n > 0, without bias (Lemire's multiply-and-reject).
  std::uint64_t uniform(std::uint64_t n) {
    unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = -n % n;
      while (low < threshold) {
        m = static_cast<unsigned __int128>(next()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  // Uniform in [lo, hi].
  int uniform_int(int lo, int hi) {
    return lo + static_cast<int>(uniform(static_cast<std::uint64_t>(hi - lo) + 1));
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform01() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  bool bernoulli(double p) { return uniform01() < p; }

  // bernoulli(p) for hot loops, with p turned into an integer threshold once: the same draws and the
  // same outcomes, since (x >> 11) * 2^-53 < p exactly when (x >> 11) < ceil(p * 2^53).
  static std::uint64_t bernoulli_threshold(double p) {
    if (!(p > 0)) return 0;
    return p >= 1 ? 1ULL << 53 : static_cast<std::uint64_t>(std::ceil(p * 0x1.0p53));
  }
  bool bernoulli_below(std::uint64_t threshold) { return (next() >> 11) < threshold; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t state_[4];
};

}  // namespace lab
