#include "trainer/launcher.h"

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/read_file.h"

extern char** environ;

namespace lab {
namespace {

std::atomic<int> g_signals{0};      // signals received by the launcher so far
std::atomic<int> g_last_signal{0};  // the latest of them

extern "C" void on_launcher_signal(int signal) {
  g_last_signal.store(signal);
  g_signals.fetch_add(1);
}

// This process's argv, as the kernel recorded it.
std::vector<std::string> own_command_line() {
  const std::string bytes = read_file("/proc/self/cmdline").value_or("");
  std::vector<std::string> args;
  for (std::size_t start = 0; start < bytes.size();) {
    std::size_t end = bytes.find('\0', start);
    if (end == std::string::npos) end = bytes.size();
    args.push_back(bytes.substr(start, end - start));
    start = end + 1;
  }
  if (args.empty()) throw std::runtime_error("cannot read /proc/self/cmdline");
  return args;
}

// The command line with every --threads replaced by one `--threads threads` up front. --nproc stays:
// a worker that finds WORLD_SIZE in its environment joins the group instead of launching.
std::vector<std::string> worker_command_line(const std::vector<std::string>& args, int threads) {
  std::vector<std::string> out = {args[0], "--threads", std::to_string(threads)};
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--threads") {
      ++i;  // and its value
    } else if (!args[i].starts_with("--threads=")) {
      out.push_back(args[i]);
    }
  }
  return out;
}

// A TCP port on loopback that was free a moment ago (the kernel picks it; rank 0 binds it next).
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(fmt::format("socket(): {}", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t length = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    close(fd);
    throw std::runtime_error(fmt::format("cannot find a free port on 127.0.0.1: {}", std::strerror(errno)));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return fmt::format("ended with wait status {}", status);
}

struct Worker {
  int rank = 0;
  pid_t pid = -1;
  bool running = false;
  int status = 0;
};

// fork + exec with only async-signal-safe calls in between (the parent may already run LibTorch's
// threads). The worker gets its own process group and SIGTERM when the launcher dies.
pid_t start_worker(const std::string& exe, const std::vector<std::string>& args,
                   const std::vector<std::string>& env) {
  std::vector<char*> argv, envp;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(fmt::format("fork(): {}", std::strerror(errno)));
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // the launcher died before prctl
    execve(exe.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

void run_local_workers(int nproc, int threads_per_worker, bool quiet) {
  std::array<char, 4096> exe_path{};
  const ssize_t n = readlink("/proc/self/exe", exe_path.data(), exe_path.size() - 1);
  if (n <= 0) throw std::runtime_error("cannot read /proc/self/exe");
  const std::string exe(exe_path.data(), static_cast<std::size_t>(n));
  const std::vector<std::string> args = worker_command_line(own_command_line(), threads_per_worker);
  const int port = free_port();

  // The environment of every worker: ours without the group variables, plus the group variables.
  const std::vector<std::string> group_variables = {
      "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"};
  std::vector<std::string> base_env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    bool ours = false;
    for (const std::string& name : group_variables) ours = ours || entry.starts_with(name + "=");
    if (!ours) base_env.push_back(entry);
  }
  if (!quiet) {
    std::cout << fmt::format("lab train: {} workers with {} thread{} each, rendezvous at 127.0.0.1:{}\n",
                             nproc, threads_per_worker, threads_per_worker == 1 ? "" : "s", port)
              << std::flush;
  }

  struct sigaction action {
  }, old_int{}, old_term{};
  action.sa_handler = on_launcher_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);

  std::vector<Worker> workers(static_cast<std::size_t>(nproc));
  int seen_signals = g_signals.load();
  int forwarded = 0;  // the signal forwarded to the workers, 0 if none
  try {
    for (int rank = 0; rank < nproc; ++rank) {
      std::vector<std::string> env = base_env;
      env.push_back(fmt::format("RANK={}", rank));
      env.push_back(fmt::format("LOCAL_RANK={}", rank));
      env.push_back(fmt::format("WORLD_SIZE={}", nproc));
      env.push_back(fmt::format("LOCAL_WORLD_SIZE={}", nproc));
      env.push_back("MASTER_ADDR=127.0.0.1");
      env.push_back(fmt::format("MASTER_PORT={}", port));
      Worker& w = workers[static_cast<std::size_t>(rank)];
      w.rank = rank;
      w.pid = start_worker(exe, args, env);
      w.running = true;
    }
  } catch (...) {
    for (Worker& w : workers) {
      if (w.running) kill(w.pid, SIGKILL), waitpid(w.pid, nullptr, 0);
    }
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    throw;
  }

  std::vector<std::string> failures;  // "rank R exited with status S", in rank order
  bool exit_code_two = false;
  bool stopping = false;  // a worker failed: the others were sent SIGTERM
  std::chrono::steady_clock::time_point kill_at;
  for (;;) {
    if (int count = g_signals.load(); count != seen_signals) {
      seen_signals = count;
      forwarded = g_last_signal.load();
      for (const Worker& w : workers) {
        if (w.running) kill(w.pid, forwarded);
      }
    }
    std::vector<std::string> new_failures;
    bool any_running = false;
    for (Worker& w : workers) {
      if (!w.running) continue;
      if (waitpid(w.pid, &w.status, WNOHANG) == w.pid) {
        w.running = false;
        const bool failed = !(WIFEXITED(w.status) && WEXITSTATUS(w.status) == 0);
        if (failed && !stopping && forwarded == 0) {
          new_failures.push_back(fmt::format("rank {} {}", w.rank, describe_status(w.status)));
          exit_code_two = exit_code_two || (WIFEXITED(w.status) && WEXITSTATUS(w.status) == 2);
        }
      }
      any_running = any_running || w.running;
    }
    if (!new_failures.empty()) {
      failures = new_failures;
      stopping = true;
      kill_at = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      for (const Worker& w : workers) {
        if (w.running) kill(w.pid, SIGTERM);
      }
    }
    if (!any_running) break;
    if (stopping && std::chrono::steady_clock::now() > kill_at) {
      for (const Worker& w : workers) {
        if (w.running) kill(w.pid, SIGKILL);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);

  if (forwarded != 0) {
    throw Interrupted(fmt::format("interrupted ({}); the {} workers stopped",
                                  forwarded == SIGINT ? "Ctrl-C" : strsignal(forwarded), nproc),
                      forwarded);
  }
  if (failures.empty()) return;
  std::string message = "data-parallel training failed: ";
  for (std::size_t i = 0; i < failures.size(); ++i) message += (i ? "; " : "") + failures[i];
  if (static_cast<int>(failures.size()) < nproc) message += "; the other workers were stopped";
  if (exit_code_two) throw Error(message);
  throw std::runtime_error(message);
}

}  // namespace lab
