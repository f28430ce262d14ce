#include "tests/support/subprocess.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/files.h"

extern char** environ;

namespace lab::test {
namespace {

std::string slurp_and_remove(const std::string& path) {
  std::string text = read_text(path);
  std::remove(path.c_str());
  return text;
}

// The test's environment with `overrides` ("NAME=value") added or replacing the same names.
std::vector<std::string> merged_environment(const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    bool replaced = false;
    for (const std::string& o : overrides) {
      const std::string name = o.substr(0, o.find('=') + 1);
      replaced = replaced || entry.starts_with(name);
    }
    if (!replaced) env.push_back(entry);
  }
  env.insert(env.end(), overrides.begin(), overrides.end());
  return env;
}

}  // namespace

RunningProcess::RunningProcess(const std::string& program, const std::vector<std::string>& args,
                               const std::vector<std::string>& env) {
  char out_path[] = "/tmp/lab_test_out_XXXXXX";
  char err_path[] = "/tmp/lab_test_err_XXXXXX";
  int out_fd = mkstemp(out_path);
  int err_fd = mkstemp(err_path);
  if (out_fd < 0 || err_fd < 0) throw std::runtime_error("mkstemp failed");
  out_path_ = out_path;
  err_path_ = err_path;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = merged_environment(env);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int rc = posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out_fd);
  close(err_fd);
  if (rc != 0) throw std::runtime_error("cannot start " + program);
}

RunningProcess::~RunningProcess() {
  if (!finished_) {
    if (!reaped_) kill(pid_, SIGKILL);
    finish();
  }
}

bool RunningProcess::exited_within(double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!reaped_) {
    reaped_ = waitpid(pid_, &status_, WNOHANG) == pid_;
    if (reaped_ || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return reaped_;
}

ProcessResult RunningProcess::finish() {
  if (!reaped_) waitpid(pid_, &status_, 0);
  reaped_ = finished_ = true;
  const int status = status_;
  ProcessResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = slurp_and_remove(out_path_);
  result.err = slurp_and_remove(err_path_);
  return result;
}

ProcessResult run_process(const std::string& program, const std::vector<std::string>& args,
                          const std::vector<std::string>& env) {
  return RunningProcess(program, args, env).finish();
}

ProcessResult run_lab(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  // LAB_TEST_BINARY: the `lab` of a build carried to another machine (scripts/gpu_check.sh).
  const char* binary = std::getenv("LAB_TEST_BINARY");
  return run_process(binary != nullptr && *binary != '\0' ? binary : LAB_BINARY, args, env);
}

}  // namespace lab::test
