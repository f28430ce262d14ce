#pragma once
// A file's whole content, for tests that compare what the lab wrote.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace lab::test {

// The bytes of `path`, or "" if it cannot be opened.
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace lab::test
