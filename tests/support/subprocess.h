#pragma once
// Runs a program as a user would and captures what it printed, for end-to-end CLI tests.

#include <string>
#include <vector>

#include <sys/types.h>

namespace lab::test {

struct ProcessResult {
  int exit_code = -1;  // the exit status, or 128 + signal number if it was killed by a signal
  std::string out;     // everything written to stdout
  std::string err;     // everything written to stderr
};

// A program started in the background; finish() waits for it and collects its output.
class RunningProcess {
 public:
  RunningProcess(const std::string& program, const std::vector<std::string>& args,
                 const std::vector<std::string>& env = {});
  ~RunningProcess();  // kills the process if finish() was not called
  RunningProcess(const RunningProcess&) = delete;
  RunningProcess& operator=(const RunningProcess&) = delete;

  pid_t pid() const { return pid_; }
  // True once the process has exited; waits at most `seconds` for it.
  bool exited_within(double seconds);
  ProcessResult finish();

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  bool finished_ = false;
  std::string out_path_, err_path_;
};

// Runs `program args...` with no shell in between, stdin from /dev/null. `env` entries ("NAME=value")
// are added to (or replace those of) the test's own environment.
ProcessResult run_process(const std::string& program, const std::vector<std::string>& args,
                          const std::vector<std::string>& env = {});

// run_process on the `lab` binary under test.
ProcessResult run_lab(const std::vector<std::string>& args, const std::vector<std::string>& env = {});

// The arguments `a` followed by `b`: a command line put together from parts.
inline std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A command line as one string, for failure messages.
inline std::string joined(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) out.append(a).append(" ");
  return out;
}

}  // namespace lab::test
