# One library per src/ folder, one test executable per module (docs/style.md).

add_library(switchdiff_warnings INTERFACE)
target_compile_options(switchdiff_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
  $<$<BOOL:${SWITCHDIFF_WERROR}>:-Werror>)
if(SWITCHDIFF_SANITIZE)
  target_compile_options(switchdiff_warnings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(switchdiff_warnings INTERFACE -fsanitize=address,undefined)
endif()

# switchdiff_add_module(name SOURCES a.cpp ... [DEPENDS public deps ...] [PRIVATE_DEPENDS ...])
function(switchdiff_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS;PRIVATE_DEPENDS" ${ARGN})
  add_library(switchdiff_${name} STATIC ${ARG_SOURCES})
  add_library(switchdiff::${name} ALIAS switchdiff_${name})
  target_include_directories(switchdiff_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(switchdiff_${name} PUBLIC ${ARG_DEPENDS} PRIVATE switchdiff_warnings ${ARG_PRIVATE_DEPENDS})
  set_target_properties(switchdiff_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()

# switchdiff_add_test(name SOURCES ... DEPENDS ... [MPI_RANKS n1 n2 ...] [LABELS ...] [TIMEOUT s] [ARGS ...])
# One gtest executable; with MPI_RANKS it is one ctest per rank count (mpirun -np n) and uses tests/common/mpi_gtest_main.cpp.
function(switchdiff_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "MPI_RANKS;SOURCES;DEPENDS;LABELS;ARGS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set(env "SWITCHDIFF_SOURCE_DIR=${PROJECT_SOURCE_DIR};SWITCHDIFF_BINARY_DIR=${PROJECT_BINARY_DIR};SWITCHDIFF_PYTHON=${SWITCHDIFF_PYTHON};SWITCHDIFF_EXE=${PROJECT_BINARY_DIR}/src/cli/switchdiff;OMP_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
  add_executable(test_${name} ${ARG_SOURCES})
  target_link_libraries(test_${name} PRIVATE ${ARG_DEPENDS} switchdiff_test_support switchdiff_warnings)
  if(ARG_MPI_RANKS)
    target_link_libraries(test_${name} PRIVATE switchdiff_mpi_gtest_main)
    foreach(n ${ARG_MPI_RANKS})
      add_test(NAME ${name}_np${n}
               COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${n} --allow-run-as-root --oversubscribe
                       $<TARGET_FILE:test_${name}> ${ARG_ARGS})
      set_tests_properties(${name}_np${n} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
                           PROCESSORS ${n} ENVIRONMENT "${env}")
    endforeach()
  else()
    target_link_libraries(test_${name} PRIVATE GTest::gtest_main)
    add_test(NAME ${name} COMMAND test_${name} ${ARG_ARGS})
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
                         ENVIRONMENT "${env}")
  endif()
endfunction()
