# Finds every external dependency once; each failure says how to fix it (docs/style.md).
macro(switchdiff_require found what fix)
  if(NOT ${found})
    message(FATAL_ERROR "${what} not found: ${fix} (or run tools/install_deps.sh)")
  endif()
endmacro()

# Debian's libtorch-dev (1.13, CPU) installs TorchConfig.cmake.
find_package(Torch QUIET)
switchdiff_require(Torch_FOUND "LibTorch" "apt-get install libtorch-dev")
# Torch's CMake config appends flags to TORCH_CXX_FLAGS; we keep them on the imported target only.

find_package(MPI QUIET COMPONENTS CXX)
switchdiff_require(MPI_CXX_FOUND "MPI" "apt-get install libopenmpi-dev openmpi-bin")

find_package(HDF5 QUIET COMPONENTS C)
switchdiff_require(HDF5_FOUND "HDF5" "apt-get install libhdf5-dev")
if(NOT TARGET hdf5::hdf5)
  add_library(switchdiff_hdf5 INTERFACE)
  target_include_directories(switchdiff_hdf5 INTERFACE ${HDF5_INCLUDE_DIRS})
  target_link_libraries(switchdiff_hdf5 INTERFACE ${HDF5_LIBRARIES})
  target_compile_definitions(switchdiff_hdf5 INTERFACE ${HDF5_DEFINITIONS})
  add_library(hdf5::hdf5 ALIAS switchdiff_hdf5)
endif()

find_package(Boost QUIET COMPONENTS program_options)
switchdiff_require(Boost_FOUND "Boost.Program_options" "apt-get install libboost-program-options-dev")

find_package(fmt QUIET)
switchdiff_require(fmt_FOUND "fmt" "apt-get install libfmt-dev")

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(LIBZIP QUIET IMPORTED_TARGET libzip)
endif()
switchdiff_require(LIBZIP_FOUND "libzip" "apt-get install libzip-dev")

find_path(STB_INCLUDE_DIR stb_image_write.h PATH_SUFFIXES stb)
switchdiff_require(STB_INCLUDE_DIR "stb (PNG writer)" "apt-get install libstb-dev")

# NCCL: compiled whenever the CUDA toolkit with nccl.h is present, so CI catches breakage
# even without a GPU (only a driver is needed at run time).
set(SWITCHDIFF_HAVE_NCCL OFF)
if(SWITCHDIFF_WITH_NCCL)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS /usr/local/cuda/include ENV CUDA_HOME PATH_SUFFIXES include)
  find_library(NCCL_LIBRARY nccl HINTS /usr/local/cuda/lib64 /usr/local/cuda/lib ENV CUDA_HOME PATH_SUFFIXES lib64 lib)
  find_path(CUDART_INCLUDE_DIR cuda_runtime_api.h HINTS /usr/local/cuda/include)
  find_library(CUDART_LIBRARY cudart HINTS /usr/local/cuda/lib64 /usr/local/cuda/lib)
  if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY AND CUDART_INCLUDE_DIR AND CUDART_LIBRARY)
    set(SWITCHDIFF_HAVE_NCCL ON)
    message(STATUS "switchdiff: NCCL communicator enabled (${NCCL_LIBRARY})")
  else()
    message(STATUS "switchdiff: NCCL/CUDA toolkit not found under /usr/local/cuda: NCCL communicator skipped")
  endif()
endif()

if(SWITCHDIFF_BUILD_TESTS)
  find_package(GTest QUIET)
  switchdiff_require(GTest_FOUND "GoogleTest" "apt-get install libgtest-dev libgmock-dev")
endif()
if(SWITCHDIFF_BUILD_BENCHMARKS)
  find_package(benchmark QUIET)
  switchdiff_require(benchmark_FOUND "Google Benchmark" "apt-get install libbenchmark-dev")
endif()

find_program(SWITCHDIFF_PYTHON /usr/bin/python3 NO_DEFAULT_PATH)
if(NOT SWITCHDIFF_PYTHON)
  set(SWITCHDIFF_PYTHON python3)
endif()
