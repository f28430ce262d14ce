#pragma once
// Writing a file so that a crash or kill -9 at any moment leaves either the old file or the complete
// new one, never a torn one: write a temporary file beside it, fsync, rename over, fsync the directory.

#include <filesystem>
#include <string_view>

namespace lab {

// Throws lab::Error naming the path if any step fails; the temporary file is removed on failure.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

enum class Leftovers {
  all,                  // NAME.tmp-PID files and .NAME.partial-PID directories: in the lab's own directories
  partial_directories,  // .NAME.partial-PID only: in a directory that is the user's (a dataset's parent)
};

// Removes what processes killed mid-write (kill -9, a power cut) left in `dir`: files NAME.tmp-PID
// (write_file_atomically) and directories .NAME.partial-PID (the dataset writer) whose process PID
// no longer runs. A live PID's are kept, even if the number was reused. Returns how many went.
int remove_stale_temporaries(const std::filesystem::path& dir, Leftovers which = Leftovers::all);

}  // namespace lab
