#pragma once
// Environment variables as the launchers set them (torchrun, Slurm): read once here, with errors
// that name the variable and its value.

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>

#include "core/error.h"

namespace lab {

// The value of environment variable `name`; nullopt when it is unset or empty.
inline std::optional<std::string> env_text(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// `text`, the value of environment variable `name`, as a whole number in [min, max]; lab::Error
// "NAME=TEXT: expected an integer in [MIN, MAX]" otherwise.
inline long env_integer(const char* name, const std::string& text, long min, long max) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0' || value < min || value > max)
    fail("{}={}: expected an integer in [{}, {}]", name, text, min, max);
  return value;
}

// Environment variable `name` as a whole number in [min, max]; nullopt when it is unset or empty.
inline std::optional<long> env_integer(const char* name, long min, long max) {
  const std::optional<std::string> text = env_text(name);
  if (!text) return std::nullopt;
  return env_integer(name, *text, min, max);
}

}  // namespace lab
