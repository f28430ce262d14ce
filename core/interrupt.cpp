#include "core/interrupt.h"

#include <atomic>
#include <csignal>

#include "core/error.h"

namespace lab {
namespace {

std::atomic<int> g_signal{0};

extern "C" void on_signal(int signal) {
  if (g_signal.exchange(signal) != 0) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
  }
}

}  // namespace

void install_interrupt_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool interrupted() { return g_signal.load(std::memory_order_relaxed) != 0; }

int pending_signal() { return g_signal.load(); }

const char* signal_name(int signal) { return signal == SIGINT ? "Ctrl-C" : "SIGTERM"; }

void throw_if_interrupted() {
  if (int signal = g_signal.load(); signal != 0) {
    throw Interrupted(fmt::format("interrupted ({}); partial output was removed", signal_name(signal)),
                      signal);
  }
}

}  // namespace lab
