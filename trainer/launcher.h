#pragma once
// `lab train --nproc N` on one machine: this process becomes a small launcher (what torchrun does for
// Python) that starts N workers of its own binary with its own command line, each with RANK,
// WORLD_SIZE, LOCAL_RANK, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT in its environment, so that
// each of them joins the data-parallel group of trainer/distributed.h.
//
// The launcher forwards Ctrl-C and SIGTERM to the workers (which stop after the same step; rank 0
// saves). The workers run in their own process group, so a terminal's Ctrl-C reaches them once,
// through the launcher, and they receive SIGTERM if the launcher itself dies. If a worker fails, the
// launcher stops the others (SIGTERM, then SIGKILL after 10 s) rather than letting them wait for it.

namespace lab {

// Runs the workers and waits for all of them. `threads_per_worker` replaces any --threads of the
// command line. Throws lab::Interrupted after forwarding a signal; lab::Error when a worker exited
// with the bad-input code 2 (its own message says why); otherwise std::runtime_error naming each
// failed rank and how it ended (exit status or signal).
void run_local_workers(int nproc, int threads_per_worker, bool quiet);

}  // namespace lab
