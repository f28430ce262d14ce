#include "core/blas_info.h"

#include <cstdlib>
#include <filesystem>

#include <dlfcn.h>
#include <fmt/format.h>

namespace lab {

BlasKind classify_blas_path(const std::string& path) {
  if (path.find("openblas") != std::string::npos) return BlasKind::openblas;
  if (path.find("mkl") != std::string::npos) return BlasKind::mkl;
  if (path.find("blis") != std::string::npos) return BlasKind::blis;
  // Debian installs the Netlib reference BLAS as .../blas/libblas.so.3.
  if (path.find("/blas/libblas") != std::string::npos) return BlasKind::reference;
  return BlasKind::other;
}

std::string openblas_core() {
  using CorenameFn = char* (*)();
  auto corename = reinterpret_cast<CorenameFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return corename != nullptr && corename() != nullptr ? std::string(corename()) : std::string();
}

std::string fix_openblas_core() {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr || detect_blas().kind != BlasKind::openblas) return "";
  if (openblas_core() != "Prescott") return "";
  const char* core = nullptr;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl")) {
    core = "SkylakeX";
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    core = "Haswell";
  } else {
    return "";  // an old CPU: Prescott is right
  }
  // gotoblas_dynamic_quit() forgets the chosen kernels, gotoblas_dynamic_init() chooses again, reading
  // OPENBLAS_CORETYPE (OpenBLAS's driver/others/dynamic.c; both exported by DYNAMIC_ARCH builds).
  using InitFn = void (*)();
  auto quit = reinterpret_cast<InitFn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit"));
  auto init = reinterpret_cast<InitFn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init"));
  if (quit == nullptr || init == nullptr) return "";
  setenv("OPENBLAS_CORETYPE", core, 0);
  quit();
  init();
  return openblas_core() == core ? core : "";
}

BlasInfo detect_blas() {
  BlasInfo info;
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info where{};
  if (sgemm == nullptr || dladdr(sgemm, &where) == 0 || where.dli_fname == nullptr) {
    info.description = "no sgemm_ symbol loaded (LibTorch may use a statically linked BLAS)";
    return info;
  }
  std::error_code ec;
  std::filesystem::path resolved = std::filesystem::canonical(where.dli_fname, ec);
  info.library = ec ? std::string(where.dli_fname) : resolved.string();
  info.kind = classify_blas_path(info.library);
  // MKL linked into another library (PyPI's LibTorch has it inside libtorch_cpu.so) names itself.
  using MklVersionFn = void (*)(char*, int);
  auto mkl_version = reinterpret_cast<MklVersionFn>(dlsym(RTLD_DEFAULT, "MKL_Get_Version_String"));
  if (info.kind == BlasKind::other && mkl_version != nullptr) {
    char version[256] = {};
    mkl_version(version, sizeof(version) - 1);
    info.kind = BlasKind::mkl;
    info.description = fmt::format("Intel MKL ({}) in {}", version, info.library);
    return info;
  }

  switch (info.kind) {
    case BlasKind::openblas: {
      // OpenBLAS reports its version and build options; the symbol lives in libopenblas.so.0.
      using ConfigFn = const char* (*)();
      auto config = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
      info.description = fmt::format("OpenBLAS ({}) {}", config ? config() : "version unknown", info.library);
      break;
    }
    case BlasKind::reference:
      info.description = fmt::format("reference Netlib BLAS (slow) {}", info.library);
      break;
    case BlasKind::mkl:
      info.description = fmt::format("Intel MKL {}", info.library);
      break;
    case BlasKind::blis:
      info.description = fmt::format("BLIS {}", info.library);
      break;
    default:
      info.description = fmt::format("unrecognised BLAS {}", info.library);
      break;
  }
  return info;
}

}  // namespace lab
