#pragma once
// A seeded bijection of [0, size): a balanced Feistel network on the smallest even number of bits that
// covers `size`, with cycle walking to stay inside the domain. Used to give phone-book entry i a
// unique name (perm(i) indexes the name space) without storing or checking any set of names.

#include <cstdint>

namespace lab {

class Permutation {
 public:
  Permutation(std::uint64_t size, std::uint64_t key);

  std::uint64_t size() const { return size_; }
  std::uint64_t operator()(std::uint64_t x) const;  // x < size

 private:
  std::uint64_t encrypt(std::uint64_t x) const;

  std::uint64_t size_;
  int half_bits_;
  std::uint64_t half_mask_;
  std::uint64_t keys_[4];
};

}  // namespace lab
