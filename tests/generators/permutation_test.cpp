// The Feistel permutation is a bijection of [0, size) for every size, including odd and tiny ones.
#include "generators/permutation.h"

#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

namespace lab {
namespace {

void expect_bijection(std::uint64_t size, std::uint64_t key) {
  Permutation perm(size, key);
  ASSERT_EQ(perm.size(), size);
  std::vector<bool> seen(size, false);
  for (std::uint64_t x = 0; x < size; ++x) {
    std::uint64_t y = perm(x);
    ASSERT_LT(y, size) << "size " << size << " key " << key << " x " << x;
    ASSERT_FALSE(seen[y]) << "size " << size << " key " << key << ": " << y << " hit twice";
    seen[y] = true;
  }
}

TEST(Permutation, IsABijectionForSmallAndOddSizes) {
  for (std::uint64_t size = 1; size <= 300; ++size) {
    for (std::uint64_t key : {0ULL, 1ULL, 12345ULL}) expect_bijection(size, key);
  }
  for (std::uint64_t size : {1023ULL, 1024ULL, 1025ULL, 4097ULL, 65535ULL, 99991ULL, 1ULL << 18}) {
    expect_bijection(size, 7);
  }
}

TEST(Permutation, DependsOnTheKeyAndIsNotTheIdentity) {
  const std::uint64_t size = 10007;
  Permutation a(size, 1), b(size, 2);
  int same_as_b = 0, fixed_points = 0;
  for (std::uint64_t x = 0; x < size; ++x) {
    same_as_b += a(x) == b(x);
    fixed_points += a(x) == x;
  }
  // A random permutation has ~1 fixed point and agrees with another at ~1 place; allow plenty.
  EXPECT_LT(same_as_b, 20);
  EXPECT_LT(fixed_points, 20);
}

TEST(Permutation, IsAPureFunctionOfSizeKeyAndInput) {
  Permutation a(1'000'003, 99), b(1'000'003, 99);
  for (std::uint64_t x = 0; x < 1'000'003; x += 997) EXPECT_EQ(a(x), b(x));
}

TEST(Permutation, LargeDomainsStayInRange) {
  // The built-in name space is 427500^2 names: no brute force, but every image must be in range
  // and distinct on a sample.
  const std::uint64_t size = 427'500ULL * 427'500ULL;
  Permutation perm(size, 5);
  std::vector<std::uint64_t> images;
  for (std::uint64_t x = 0; x < 100'000; ++x) {
    images.push_back(perm(x));
    ASSERT_LT(images.back(), size);
  }
  std::sort(images.begin(), images.end());
  EXPECT_EQ(std::adjacent_find(images.begin(), images.end()), images.end());
}

}  // namespace
}  // namespace lab
