# Helpers every target of the project goes through, so warnings and LibTorch handling stay in one place.

# Strict warnings on the project's own code; third-party headers come in as SYSTEM includes.
function(lab_project_target target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Werror>)
endfunction()

# One precompiled header of LibTorch, built once and reused by every target that includes LibTorch:
# parsing <torch/torch.h> costs ~20 s per translation unit without it.
if(TARGET torch)  # not in the fuzz preset
  add_library(lab_torch_pch OBJECT ${CMAKE_CURRENT_LIST_DIR}/torch_pch.cpp)
  target_link_libraries(lab_torch_pch PUBLIC torch fmt::fmt OpenMP::OpenMP_CXX)
  target_precompile_headers(lab_torch_pch PUBLIC <torch/torch.h>)
  lab_project_target(lab_torch_pch)
endif()

# PyPI's LibTorch (the torch2 preset) exports the std::filesystem functions of the libstdc++fs it was
# linked with, and some are broken there (remove_all calls a null pointer). An executable that lists
# libtorch.so before libstdc++.so.6 would bind its own std::filesystem calls to them: libstdc++ goes
# first in every executable's list of libraries.
if(TARGET torch AND EXISTS "${TORCH_INSTALL_PREFIX}/lib/libtorch.so")
  execute_process(COMMAND nm -D --defined-only "${TORCH_INSTALL_PREFIX}/lib/libtorch.so"
                  OUTPUT_VARIABLE torch_symbols ERROR_QUIET)
  if(torch_symbols MATCHES "_ZNSt10filesystem")
    message(STATUS "LibTorch exports std::filesystem: linking libstdc++ ahead of it")
    add_link_options("LINKER:--push-state,--no-as-needed" -lstdc++ "LINKER:--pop-state")
  endif()
endif()

# Links LibTorch PUBLIC (libraries expose torch::Tensor in their headers) and reuses the shared PCH.
# OpenMP as LibTorch is built: at::parallel_for in our code is serial without it (see CMakeLists.txt).
function(lab_use_torch target)
  target_link_libraries(${target} PUBLIC torch OpenMP::OpenMP_CXX)
  target_precompile_headers(${target} REUSE_FROM lab_torch_pch)
endfunction()
