#pragma once
// Writes a generator's splits as a dataset directory: examples generated in parallel blocks and
// written in index order (so the bytes never depend on the thread count), checksummed while written,
// all under a temporary name that is renamed into place only when complete. On any error or Ctrl-C
// the temporary directory is removed: nothing half-written is left behind.

#include <filesystem>

#include <nlohmann/json.hpp>

#include "generators/generator.h"

namespace lab {

struct WriteOptions {
  std::filesystem::path out;  // the dataset directory to create
  bool force = false;         // replace an existing non-empty directory
  int threads = 1;            // generator threads
  bool quiet = false;         // no progress bar
};

// Returns the manifest written to out/manifest.json. Throws lab::Error for anything the user can fix
// (the directory exists, cannot be written, the disk is too small).
nlohmann::json write_dataset(const Generator& generator, const WriteOptions& options);

// The manifest's own checksum: CRC-32C of its canonical JSON without the "manifest_crc32c" field.
std::string manifest_checksum(const nlohmann::json& manifest);

}  // namespace lab
