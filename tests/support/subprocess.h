#pragma once
// Runs a program as a user would and captures what it printed, for end-to-end CLI tests.

#include <string>
#include <vector>

namespace lab::test {

struct ProcessResult {
  int exit_code = -1;  // the exit status, or 128 + signal number if it was killed by a signal
  std::string out;     // everything written to stdout
  std::string err;     // everything written to stderr
};

// Runs `program args...` with no shell in between, stdin from /dev/null.
ProcessResult run_process(const std::string& program, const std::vector<std::string>& args);

// run_process on the `lab` binary under test.
ProcessResult run_lab(const std::vector<std::string>& args);

}  // namespace lab::test
