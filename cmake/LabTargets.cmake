# Helpers every target of the project goes through, so warnings and LibTorch handling stay in one place.

# Strict warnings on the project's own code; third-party headers come in as SYSTEM includes.
function(lab_project_target target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
endfunction()

# One precompiled header of LibTorch, built once and reused by every target that includes LibTorch:
# parsing <torch/torch.h> costs ~20 s per translation unit without it.
if(TARGET torch)  # not in the fuzz preset
  add_library(lab_torch_pch OBJECT ${CMAKE_CURRENT_LIST_DIR}/torch_pch.cpp)
  target_link_libraries(lab_torch_pch PUBLIC torch fmt::fmt OpenMP::OpenMP_CXX)
  target_precompile_headers(lab_torch_pch PUBLIC <torch/torch.h>)
  lab_project_target(lab_torch_pch)
endif()

# Links LibTorch PUBLIC (libraries expose torch::Tensor in their headers) and reuses the shared PCH.
# OpenMP as LibTorch is built: at::parallel_for in our code is serial without it (see CMakeLists.txt).
function(lab_use_torch target)
  target_link_libraries(${target} PUBLIC torch OpenMP::OpenMP_CXX)
  target_precompile_headers(${target} REUSE_FROM lab_torch_pch)
endfunction()
