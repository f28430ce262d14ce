#include "core/atomic_file.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include "core/error.h"

namespace lab {
namespace {

void fsync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: some filesystems do not allow opening directories
  ::fsync(fd);
  ::close(fd);
}

// The PID after `marker` at the end of `name` ("step-1.pt.tmp-4242" with ".tmp-" -> 4242).
std::optional<pid_t> owner_pid(const std::string& name, const std::string& marker) {
  const std::size_t at = name.rfind(marker);
  if (at == std::string::npos || at + marker.size() == name.size()) return std::nullopt;
  const std::string digits = name.substr(at + marker.size());
  if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) return std::nullopt;
  return static_cast<pid_t>(std::stol(digits));
}

bool process_is_gone(pid_t pid) { return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH; }

}  // namespace

int remove_stale_temporaries(const std::filesystem::path& dir, Leftovers which) {
  namespace fs = std::filesystem;
  int removed = 0;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    std::optional<pid_t> pid = which == Leftovers::all ? owner_pid(name, ".tmp-") : std::nullopt;
    if (!pid && name.starts_with(".")) pid = owner_pid(name, ".partial-");
    if (!pid || !process_is_gone(*pid)) continue;
    std::error_code remove_ec;
    if (fs::remove_all(entry.path(), remove_ec) > 0 && !remove_ec) ++removed;
  }
  return removed;
}

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::path temporary = path;
  temporary += ".tmp-" + std::to_string(getpid());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot create {}: {}", temporary.string(), std::strerror(errno));
  const char* data = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    ssize_t written = ::write(fd, data, left);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      int error = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      fail("cannot write {}: {}", temporary.string(), std::strerror(error));
    }
    data += written;
    left -= static_cast<std::size_t>(written);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int error = errno;
    ::unlink(temporary.c_str());
    fail("cannot write {}: {}", temporary.string(), std::strerror(error));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    int error = errno;
    ::unlink(temporary.c_str());
    fail("cannot rename {} to {}: {}", temporary.string(), path.string(), std::strerror(error));
  }
  fsync_directory(path.parent_path());
}

}  // namespace lab
