#pragma once
// What was built (the project version, the git commit it was built from) and what runs it (the command
// line, the host), for the records of runs (config.json).

#include <string>
#include <string_view>
#include <vector>

namespace lab {

std::string_view project_version();  // "0.1.0", from CMake's project(VERSION)
std::string_view git_commit();       // 12 hex digits, or "unknown" outside a git checkout
bool source_dirty();                 // tracked files differed from git_commit() when this was built

// The process's command line, as main() received it (empty until set_command_line is called).
void set_command_line(int argc, const char* const* argv);
const std::vector<std::string>& command_line();

// This machine's host name ("unknown" if it cannot be read).
std::string host_name();

}  // namespace lab
