#pragma once
// Fuzz inputs that stand for several files (a dataset directory, a run directory): a bundle is a
// sequence of records [1 byte: file index][4 bytes little-endian: length][length bytes], each writing
// the named file of a fixed list; a record cut short takes what is left. fuzz/make_corpus.py packs real
// files into bundles for the seed corpora.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace lab::fuzz {

// The files of a bundle, by name (a name of `names`); files the bundle does not name are absent.
inline std::vector<std::pair<std::string, std::string>> unpack(const std::uint8_t* data, std::size_t size,
                                                               const std::vector<std::string>& names) {
  std::vector<std::pair<std::string, std::string>> files;
  std::size_t at = 0;
  while (at < size) {
    const std::string& name = names[data[at] % names.size()];
    ++at;
    std::uint32_t length = 0;
    for (int i = 0; i < 4 && at < size; ++i, ++at) length |= static_cast<std::uint32_t>(data[at]) << (8 * i);
    const std::size_t take = std::min<std::size_t>(length, size - at);
    files.emplace_back(name, std::string(reinterpret_cast<const char*>(data + at), take));
    at += take;
  }
  return files;
}

// A directory of this process's own (under TMPDIR, or /dev/shm when it exists: tmpfs is fast),
// emptied before every input.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path base = std::filesystem::exists("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                                     : std::filesystem::temp_directory_path();
    return base / ("lab_fuzz_" + std::to_string(getpid()));
  }();
  return dir;
}

// Empties `dir` and writes the bundle's files into it.
inline void write_files(const std::filesystem::path& dir,
                        const std::vector<std::pair<std::string, std::string>>& files) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir);
  for (const auto& [name, bytes] : files) {
    std::ofstream(dir / name, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
}

// Writes one input as the file `name` in scratch_dir() and returns its path.
inline std::filesystem::path write_input(const std::string& name, const std::uint8_t* data,
                                         std::size_t size) {
  std::filesystem::create_directories(scratch_dir());
  const std::filesystem::path file = scratch_dir() / name;
  std::ofstream(file, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return file;
}

}  // namespace lab::fuzz
