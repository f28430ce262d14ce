#pragma once
// The `lab` command line: global flags, subcommand dispatch, and the mapping of errors to exit codes
// (0 success, 2 for anything the user can fix: bad flag, bad input file; 1 for internal failures).

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "models/kernels.h"

namespace lab {

// Flags that apply to every subcommand.
struct GlobalOptions {
  int threads = 0;     // LibTorch intra-op threads (and the generators' workers); 0 = all cores
  bool quiet = false;  // no progress bars or informational lines; warnings and errors still print
  Kernels kernels = Kernels::fused;  // the fused CPU kernels, or the plain LibTorch composition
};

// A subcommand: its CLI11 parser and what runs when it is chosen.
struct Command {
  CLI::App* parser = nullptr;
  std::function<void()> run;
};

int run_cli(int argc, char** argv);

}  // namespace lab
