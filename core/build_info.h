#pragma once
// What was built: the project version and the git commit it was built from.

#include <string_view>

namespace lab {

std::string_view project_version();  // "0.1.0", from CMake's project(VERSION)
std::string_view git_commit();       // 12 hex digits, or "unknown" outside a git checkout

}  // namespace lab
