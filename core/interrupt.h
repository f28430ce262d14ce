#pragma once
// Ctrl-C and SIGTERM as a request, not a kill: long work (dataset writing, training) polls
// interrupted() between units of work, cleans up (no half-written output) and stops with an Error.
// The flag is the one piece of process-wide state besides LibTorch's, because signals are.

namespace lab {

// Installs handlers for SIGINT and SIGTERM that set the flag; a second signal kills at once.
void install_interrupt_handlers();

bool interrupted();

// Throws lab::Error("interrupted ...") if a signal arrived.
void throw_if_interrupted();

}  // namespace lab
