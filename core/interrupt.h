#pragma once
// Ctrl-C and SIGTERM as a request, not a kill: long work (dataset writing, training) polls
// interrupted() between units of work, cleans up (no half-written output) and stops with an Error.
// The flag is the one piece of process-wide state besides LibTorch's, because signals are.

#include "core/error.h"

namespace lab {

// Thrown by throw_if_interrupted(); the CLI exits with 128 + signal, as a shell does for a killed job.
class Interrupted : public Error {
 public:
  Interrupted(const std::string& message, int signal) : Error(message), signal_(signal) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

// Installs handlers for SIGINT and SIGTERM that set the flag; a second signal kills at once.
void install_interrupt_handlers();

bool interrupted();

// The signal that arrived (SIGINT or SIGTERM), 0 if none.
int pending_signal();

// "Ctrl-C" or "SIGTERM".
const char* signal_name(int signal);

// Throws lab::Interrupted if a signal arrived.
void throw_if_interrupted();

}  // namespace lab
