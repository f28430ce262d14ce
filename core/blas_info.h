#pragma once
// Which BLAS library serves the process's matrix products. Debian's LibTorch calls the system BLAS
// through libblas.so.3, which update-alternatives points at OpenBLAS or at the reference (Netlib)
// implementation; the reference one is ~27x slower for fp32 GEMM, so the lab warns about it.

#include <string>

namespace lab {

enum class BlasKind { openblas, reference, mkl, blis, other, not_loaded };

struct BlasInfo {
  BlasKind kind = BlasKind::not_loaded;
  std::string library;      // resolved path of the library that defines sgemm_, empty if none
  std::string description;  // one line for `lab --version`, e.g. "OpenBLAS 0.3.21 (...)"
};

// Looks up the sgemm_ symbol the process would call and the file that defines it. Only meaningful
// once LibTorch (and so libblas.so.3) is loaded, which is always the case in the `lab` binary.
BlasInfo detect_blas();

// OpenBLAS built for many CPUs (DYNAMIC_ARCH, as Debian's) picks its kernels by the CPU's model
// number, and a model newer than its tables gets the generic "Prescott" kernels (SSE3): on this
// project's Emerald Rapids host (model 207) OpenBLAS 0.3.21 did, and fp32 products ran at a fifth of
// the speed of its AVX-512 (SkylakeX) kernels. When OpenBLAS serves the process, chose Prescott, the
// CPU has AVX-512 (F, CD, BW, DQ, VL) or AVX2 with FMA, and the user has not set OPENBLAS_CORETYPE,
// this switches OpenBLAS to SkylakeX or Haswell (setting OPENBLAS_CORETYPE, so that child processes,
// e.g. the benchmarks' Python peers, get the same) before any product runs. Returns the core chosen
// ("" when nothing changed). Call it first thing in main, before any thread uses BLAS.
std::string fix_openblas_core();

// The core the process's OpenBLAS runs ("" when OpenBLAS does not serve it).
std::string openblas_core();

// Classifies a BLAS library by its resolved path (exposed for tests).
BlasKind classify_blas_path(const std::string& resolved_path);

}  // namespace lab
