#pragma once
// The process's compute runtime: LibTorch threads, the BLAS in use, and how to describe them.

#include <string>

namespace lab {

struct GlobalOptions;

// Sets LibTorch's intra-op thread count (OpenMP and so OpenBLAS follow) and prints a warning on
// stderr when matrix products would go through the slow reference BLAS.
void configure_runtime(const GlobalOptions& options);

// Number of threads `--threads 0` resolves to: every core the process may run on.
int default_thread_count();

// Multi-line text of `lab --version`: version, commit, LibTorch, devices, BLAS, threads.
std::string version_text();

}  // namespace lab
