#include "core/blas_info.h"

#include <gtest/gtest.h>

namespace lab {
namespace {

TEST(BlasInfo, ClassifiesDebianAlternativesByPath) {
  EXPECT_EQ(classify_blas_path("/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3"), BlasKind::openblas);
  EXPECT_EQ(classify_blas_path("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"),
            BlasKind::openblas);
  EXPECT_EQ(classify_blas_path("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"), BlasKind::reference);
  EXPECT_EQ(classify_blas_path("/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3"), BlasKind::blis);
  EXPECT_EQ(classify_blas_path("/opt/intel/mkl/lib/libmkl_rt.so"), BlasKind::mkl);
  EXPECT_EQ(classify_blas_path("/somewhere/libfoo.so"), BlasKind::other);
}

TEST(BlasInfo, ReportsNothingLoadedInAProcessWithoutBlas) {
  // This test binary does not link LibTorch or any BLAS, so no sgemm_ is visible.
  BlasInfo info = detect_blas();
  EXPECT_EQ(info.kind, BlasKind::not_loaded);
  EXPECT_TRUE(info.library.empty());
  EXPECT_FALSE(info.description.empty());
}

}  // namespace
}  // namespace lab
