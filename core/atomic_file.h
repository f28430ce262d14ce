#pragma once
// Writing a file so that a crash or kill -9 at any moment leaves either the old file or the complete
// new one, never a torn one: write a temporary file beside it, fsync, rename over, fsync the directory.

#include <filesystem>
#include <string_view>

namespace lab {

// Throws lab::Error naming the path if any step fails; the temporary file is removed on failure.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

}  // namespace lab
