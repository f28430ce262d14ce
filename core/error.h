#pragma once
// lab::Error: an error the user can cause and fix (bad flag, bad preset value, corrupt file).
// The message names the input and says what to do; the CLI prints it and exits with code 2.
// Bugs are asserts, not Errors.

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace lab {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// lab::PeerFailure: this process is fine but a process it works with is not (a data-parallel worker
// died or stopped answering). Not the user's input and not a bug here: the CLI prints it as an error
// and exits with code 1, without calling it internal.
class PeerFailure : public std::runtime_error {
 public:
  explicit PeerFailure(const std::string& message) : std::runtime_error(message) {}
};

// Throws lab::Error with a fmt-formatted message: fail("--count must be positive, got {}", n).
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace lab
