// The counter-based RNG: values in range, roughly uniform, and a pure function of (seed, stream, index).
#include "generators/rng.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include <gtest/gtest.h>

namespace lab {
namespace {

// Pearson's chi-square statistic of `counts` against a uniform expectation.
double chi_square(const std::vector<long>& counts, long total) {
  double expected = static_cast<double>(total) / static_cast<double>(counts.size());
  double chi2 = 0;
  for (long c : counts) chi2 += (c - expected) * (c - expected) / expected;
  return chi2;
}

TEST(Rng, UniformStaysInRangeAndCoversIt) {
  Rng rng(1, 2, 3);
  for (std::uint64_t n : {1ULL, 2ULL, 3ULL, 7ULL, 10ULL, 1000ULL, (1ULL << 63) + 5}) {
    std::set<std::uint64_t> seen;
    for (int i = 0; i < 20'000; ++i) {
      std::uint64_t x = rng.uniform(n);
      ASSERT_LT(x, n);
      if (n <= 1000) seen.insert(x);
    }
    if (n <= 10) {
      EXPECT_EQ(seen.size(), n) << "n " << n;
    }
  }
  for (int i = 0; i < 10'000; ++i) {
    int x = rng.uniform_int(-3, 4);
    ASSERT_GE(x, -3);
    ASSERT_LE(x, 4);
    double u = rng.uniform01();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
  EXPECT_EQ(rng.uniform_int(5, 5), 5);
}

TEST(Rng, UniformIsRoughlyUniform) {
  // Non-power-of-two bucket counts exercise the rejection step. Chi-square with k-1 degrees of
  // freedom has mean k-1 and sd sqrt(2(k-1)); 6 sd is a loose bound that a biased map fails.
  Rng rng(42, 0, 0);
  for (std::uint64_t k : {2ULL, 3ULL, 10ULL, 37ULL, 1000ULL}) {
    const long draws = 200'000;
    std::vector<long> counts(k, 0);
    for (long i = 0; i < draws; ++i) ++counts[rng.uniform(k)];
    double dof = static_cast<double>(k - 1);
    EXPECT_LT(chi_square(counts, draws), dof + 6 * std::sqrt(2 * dof) + 10) << "k " << k;
  }
  // A skewed range: n = 3 * 2^62 has a huge rejection zone (n > 2^64 / 2); the top third must not be rare.
  const std::uint64_t n = 3ULL << 62;
  std::vector<long> thirds(3, 0);
  for (int i = 0; i < 30'000; ++i) ++thirds[rng.uniform(n) / (1ULL << 62)];
  EXPECT_LT(chi_square(thirds, 30'000), 2 + 6 * 2 + 10);
}

TEST(Rng, BernoulliMatchesItsProbability) {
  Rng rng(7, 1, 1);
  for (double p : {0.0, 0.1, 0.5, 0.9, 1.0}) {
    int hits = 0;
    const int draws = 100'000;
    for (int i = 0; i < draws; ++i) hits += rng.bernoulli(p);
    double sd = std::sqrt(draws * p * (1 - p));
    EXPECT_NEAR(hits, draws * p, 6 * sd + 1) << "p " << p;
  }
}

TEST(Rng, IntegerThresholdBernoulliDecidesExactlyAsTheDoubleComparison) {
  std::vector<double> ps = {0.0, 1.0, 0.5, 0.1, 1.0 / 3, 0x1.0p-53, 1 - 0x1.0p-53, 0.7 + 0x1.0p-50};
  for (int n = 2; n <= 64; ++n) ps.push_back(3.0 / (n - 1));  // the graph generator's edge probabilities
  for (double p : ps) {
    const std::uint64_t threshold = Rng::bernoulli_threshold(std::min(1.0, p));
    // Around the threshold, where an off-by-one would show: uniform01() is k * 2^-53 for k = x >> 11.
    for (std::uint64_t k = threshold > 2 ? threshold - 2 : 0; k <= threshold + 2 && k < (1ULL << 53); ++k)
      EXPECT_EQ(k < threshold, static_cast<double>(k) * 0x1.0p-53 < std::min(1.0, p))
          << "p " << p << " k " << k;
    Rng a(5, 2, 3), b(5, 2, 3);
    for (int i = 0; i < 10'000; ++i) ASSERT_EQ(a.bernoulli(p), b.bernoulli_below(threshold)) << "p " << p;
  }
}

TEST(Rng, IsAPureFunctionOfSeedStreamAndIndex) {
  Rng a(9, 1, 100), b(9, 1, 100);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(a.next(), b.next());
  // Changing any one coordinate changes the stream.
  std::set<std::uint64_t> firsts;
  for (auto [seed, stream, index] : std::vector<std::tuple<int, int, int>>{{9, 1, 100},
                                                                           {10, 1, 100},
                                                                           {9, 2, 100},
                                                                           {9, 1, 101},
                                                                           {9, 0, 100},
                                                                           {0, 0, 0},
                                                                           {0, 0, 1},
                                                                           {0, 1, 0}}) {
    firsts.insert(Rng(seed, stream, index).next());
  }
  EXPECT_EQ(firsts.size(), 8u);
}

TEST(Rng, NeighbouringIndicesAreUncorrelated) {
  // Example i and i+1 get independent streams: the first bit agrees about half the time.
  int agree = 0;
  const int n = 20'000;
  for (int i = 0; i < n; ++i) agree += (Rng(3, 0, i).next() >> 63) == (Rng(3, 0, i + 1).next() >> 63);
  EXPECT_NEAR(agree, n / 2, 6 * std::sqrt(n / 4.0));
}

}  // namespace
}  // namespace lab
