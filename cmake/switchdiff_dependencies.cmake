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

# NCCL (SWITCHDIFF_WITH_NCCL, top-level CMakeLists.txt): AUTO compiles the NCCL communicator whenever the CUDA
# toolkit and NCCL are found, so the build catches breakage even without a GPU (only a driver is needed at run
# time); ON requires them; OFF never looks. The toolkit is found by find_package(CUDAToolkit), which reads
# CUDAToolkit_ROOT: CUDA_HOME is passed on as that when it is set and CUDAToolkit_ROOT is not.
set(SWITCHDIFF_HAVE_NCCL OFF)
string(TOUPPER "${SWITCHDIFF_WITH_NCCL}" switchdiff_with_nccl)
if(switchdiff_with_nccl MATCHES "^(1|TRUE|YES|Y)$")
  set(switchdiff_with_nccl ON)  # the former boolean option's spellings
elseif(switchdiff_with_nccl MATCHES "^(0|FALSE|NO|N)$")
  set(switchdiff_with_nccl OFF)
endif()
if(NOT switchdiff_with_nccl MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "SWITCHDIFF_WITH_NCCL=${SWITCHDIFF_WITH_NCCL}: expected AUTO, ON or OFF")
endif()
if(NOT switchdiff_with_nccl STREQUAL "OFF")
  if(NOT DEFINED CUDAToolkit_ROOT AND NOT DEFINED ENV{CUDAToolkit_ROOT} AND DEFINED ENV{CUDA_HOME})
    set(CUDAToolkit_ROOT "$ENV{CUDA_HOME}")
  endif()
  find_package(CUDAToolkit QUIET)
  if(CUDAToolkit_FOUND)
    find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
    find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
  endif()
  if(CUDAToolkit_FOUND AND TARGET CUDA::cudart AND NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    set(SWITCHDIFF_HAVE_NCCL ON)
    # src/dist/CMakeLists.txt compiles and links the backend with these.
    set(CUDART_INCLUDE_DIR ${CUDAToolkit_INCLUDE_DIRS})
    set(CUDART_LIBRARY CUDA::cudart)
    message(STATUS "switchdiff: NCCL communicator enabled (CUDA ${CUDAToolkit_VERSION} in ${CUDAToolkit_LIBRARY_DIR}, "
                   "${NCCL_LIBRARY})")
  else()
    if(NOT CUDAToolkit_FOUND)
      set(missing "the CUDA toolkit (looked in CUDAToolkit_ROOT / CUDA_HOME = '${CUDAToolkit_ROOT}', PATH, /usr/local/cuda)")
    else()
      set(missing "NCCL (nccl.h, libnccl) next to CUDA ${CUDAToolkit_VERSION} (${CUDAToolkit_INCLUDE_DIRS}, ${CUDAToolkit_LIBRARY_DIR})")
    endif()
    if(switchdiff_with_nccl STREQUAL "ON")
      message(FATAL_ERROR "SWITCHDIFF_WITH_NCCL=ON but ${missing} was not found: install it, point CUDA_HOME at the "
                          "toolkit, or configure with -DSWITCHDIFF_WITH_NCCL=AUTO (or OFF) to build without NCCL")
    endif()
    message(STATUS "switchdiff: ${missing} not found: NCCL communicator skipped (SWITCHDIFF_WITH_NCCL=AUTO)")
  endif()
else()
  message(STATUS "switchdiff: NCCL communicator off (SWITCHDIFF_WITH_NCCL=OFF)")
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
