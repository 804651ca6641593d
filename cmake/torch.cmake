# LibTorch from the PyTorch wheel in the project environment (scripts/setup.sh pins it): its CMake
# package is found through DPOK_PYTHON unless CMAKE_PREFIX_PATH already names one. The wheel is a
# CUDA build (CUDA 13.2 runtime libraries from PyPI's nvidia-* packages); CUDA code compiles against
# the installed CUDA 13.x toolkit, so the two CUDA majors agree. Without a GPU everything runs on the
# CPU and CUDA tests skip.
if(NOT Torch_DIR)
  execute_process(COMMAND "${DPOK_PYTHON}" -c "import torch; print(torch.utils.cmake_prefix_path)"
                  OUTPUT_VARIABLE DPOK_TORCH_PREFIX OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE DPOK_TORCH_FOUND_BY_PYTHON ERROR_QUIET)
  if(DPOK_TORCH_FOUND_BY_PYTHON EQUAL 0)
    list(APPEND CMAKE_PREFIX_PATH "${DPOK_TORCH_PREFIX}")
  endif()
endif()
# Name the GPU architectures instead of letting Caffe2's config probe the machine's GPU (a try_run
# that fails without one): Ampere and Hopper.
set(TORCH_CUDA_ARCH_LIST "8.0;9.0" CACHE STRING "CUDA architectures for CUDA code")
find_package(Torch 2.4 REQUIRED)
message(STATUS "dpok: LibTorch ${Torch_VERSION} from ${Torch_DIR}")

# The wheel's include directory carries a private copy of fmt (v12) ahead of the system's, so a
# LibTorch target would compile against it and then fail to link with Debian's libfmt (v9). Debian's
# headers win through a directory that holds only them, searched before LibTorch's.
get_target_property(DPOK_FMT_INCLUDE fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
file(MAKE_DIRECTORY "${CMAKE_BINARY_DIR}/fmt-include")
file(CREATE_LINK "${DPOK_FMT_INCLUDE}/fmt" "${CMAKE_BINARY_DIR}/fmt-include/fmt" SYMBOLIC)
include_directories(BEFORE SYSTEM "${CMAKE_BINARY_DIR}/fmt-include")

# libtorch_cuda needs the CUDA libraries of the wheel's nvidia-* packages (NCCL 2.30, cuDNN, ...),
# which its RUNPATH finds at run time. At link time the toolkit's directories, on the link line
# through LibTorch's CUDA targets, would supply older copies (the system NCCL lacks symbols
# libtorch_cuda uses); -rpath-link points the linker at the wheel's own.
cmake_path(GET Torch_DIR PARENT_PATH DPOK_TORCH_SHARE)
cmake_path(GET DPOK_TORCH_SHARE PARENT_PATH DPOK_TORCH_SHARE)
cmake_path(GET DPOK_TORCH_SHARE PARENT_PATH DPOK_TORCH_ROOT)
cmake_path(GET DPOK_TORCH_ROOT PARENT_PATH DPOK_SITE_PACKAGES)
file(GLOB DPOK_WHEEL_CUDA_LIBS LIST_DIRECTORIES true "${DPOK_SITE_PACKAGES}/nvidia/*/lib")
foreach(dir ${DPOK_TORCH_ROOT}/lib ${DPOK_WHEEL_CUDA_LIBS})
  add_link_options("LINKER:-rpath-link,${dir}")
endforeach()
