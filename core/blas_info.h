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

// Classifies a BLAS library by its resolved path (exposed for tests).
BlasKind classify_blas_path(const std::string& resolved_path);

}  // namespace lab
