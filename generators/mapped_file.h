#pragma once
// A read-only memory map of a whole file (RAII). An empty file maps to an empty span.

#include <cstddef>
#include <filesystem>
#include <span>

namespace lab {

class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);  // throws lab::Error naming the file
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(data_), size_}; }
  std::size_t size() const { return size_; }

 private:
  std::filesystem::path path_;
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace lab
