#include "cli/runtime.h"

#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <sched.h>

#include "cli/app.h"
#include "core/blas_info.h"
#include "core/build_info.h"
#include "core/malloc_tuning.h"

namespace lab {

int default_thread_count() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

namespace {
std::string g_openblas_core_chosen;  // what fix_openblas_core() chose, for `lab --version`
}  // namespace

void configure_runtime(const GlobalOptions& options) {
  g_openblas_core_chosen = fix_openblas_core();  // first: before any product runs
  keep_freed_memory();
  torch::set_num_threads(options.threads > 0 ? options.threads : default_thread_count());
  set_kernels(options.kernels);
  BlasInfo blas = detect_blas();
  if (blas.kind == BlasKind::reference) {
    std::cerr << fmt::format(
        "lab: warning: LibTorch is calling the reference BLAS ({}); fp32 matrix products run ~27x "
        "slower than with OpenBLAS. Run `bash scripts/setup.sh` as root, or `update-alternatives "
        "--set libblas.so.3-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3`.\n",
        blas.library);
  }
}

std::string version_text() {
  std::string devices = "cpu";
  if (torch::cuda::is_available()) devices += fmt::format(", cuda x{}", torch::cuda::device_count());
  return fmt::format(
      "lab {}\n"
      "commit: {}\n"
      "libtorch: {}\n"
      "devices: {}\n"
      "blas: {}{}\n"
      "threads: {}\n"
      "kernels: {}\n",
      project_version(), git_commit(), TORCH_VERSION, devices, detect_blas().description,
      g_openblas_core_chosen.empty()
          ? ""
          : fmt::format(" (kernels {} chosen by lab: OpenBLAS took this CPU for a Prescott; set "
                        "OPENBLAS_CORETYPE to choose yourself)",
                        g_openblas_core_chosen),
      torch::get_num_threads(), to_string(kernels()));
}

}  // namespace lab
