#pragma once
// A whole file read into memory, for the readers that check what they read (checksums, JSON,
// TensorBoard records) and say in their own words what is wrong.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

namespace lab {

// The bytes of `path`; nullopt if it cannot be opened or read to its end.
inline std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return bytes;
}

}  // namespace lab
