# One library per src/ folder, one test executable per module (docs/style.md).

add_library(switchdiff_warnings INTERFACE)
target_compile_options(switchdiff_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
  -Wshadow -Wnon-virtual-dtor
  # warnings only until the code is clean of them (a -Werror build would otherwise stop at the first)
  $<$<BOOL:${SWITCHDIFF_WERROR}>:-Werror -Wno-error=shadow -Wno-error=non-virtual-dtor>)
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

# switchdiff_add_test(name SOURCES ... DEPENDS ... [MPI_RANKS n1 n2 ...] [NP1_ARGS ...] [LABELS ...] [TIMEOUT s]
#                     [ARGS ...])
# One gtest executable test_<name>; with MPI_RANKS it is one ctest per rank count (mpirun -np n) and uses
# tests/common/mpi_gtest_main.cpp (NP1_ARGS: extra arguments for -np 1 only, e.g. a filter for tests that
# need two ranks), else tests/common/gtest_main.cpp. Both mains exit 77 when a test skipped and none failed,
# so CTest shows "Skipped" (tests/common/gtest_exit_status.h); a test that skips on some machines (no GPU,
# no dataset) gets its own entry (switchdiff_add_test_entry) so that the rest of its suite still shows
# "Passed". TIMEOUT: about 3x the suite's measured time (tests/CMakeLists.txt), so a hang fails in minutes.
function(switchdiff_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "MPI_RANKS;NP1_ARGS;SOURCES;DEPENDS;LABELS;ARGS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 60)
  endif()
  add_executable(test_${name} ${ARG_SOURCES})
  target_link_libraries(test_${name} PRIVATE ${ARG_DEPENDS} switchdiff_test_support switchdiff_warnings)
  if(ARG_MPI_RANKS)
    target_link_libraries(test_${name} PRIVATE switchdiff_mpi_gtest_main)
    foreach(n ${ARG_MPI_RANKS})
      set(extra_args "")
      if(n EQUAL 1)
        set(extra_args ${ARG_NP1_ARGS})
      endif()
      add_test(NAME ${name}_np${n}
               COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${n} --allow-run-as-root --oversubscribe
                       $<TARGET_FILE:test_${name}> ${ARG_ARGS} ${extra_args})
      switchdiff_set_test_properties(${name}_np${n} "${ARG_LABELS}" ${ARG_TIMEOUT})
      set_tests_properties(${name}_np${n} PROPERTIES PROCESSORS ${n})
    endforeach()
  else()
    target_link_libraries(test_${name} PRIVATE switchdiff_gtest_main)
    add_test(NAME ${name} COMMAND test_${name} ${ARG_ARGS})
    switchdiff_set_test_properties(${name} "${ARG_LABELS}" ${ARG_TIMEOUT})
  endif()
endfunction()

# switchdiff_add_test_entry(entry suite [ARGS ...] [LABELS ...] [TIMEOUT s])
# A further ctest entry running the (non-MPI) executable test_<suite> with other arguments, typically a
# --gtest_filter that splits slow or machine-dependent tests from the rest of the suite.
function(switchdiff_add_test_entry entry suite)
  cmake_parse_arguments(ARG "" "TIMEOUT" "ARGS;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 60)
  endif()
  add_test(NAME ${entry} COMMAND test_${suite} ${ARG_ARGS})
  switchdiff_set_test_properties(${entry} "${ARG_LABELS}" ${ARG_TIMEOUT})
endfunction()

# Properties shared by every gtest entry: labels, timeout, skip status 77, and the environment the tests read
# (tests/common/test_support.h).
function(switchdiff_set_test_properties test labels timeout)
  set(env "SWITCHDIFF_SOURCE_DIR=${PROJECT_SOURCE_DIR};SWITCHDIFF_BINARY_DIR=${PROJECT_BINARY_DIR};SWITCHDIFF_PYTHON=${SWITCHDIFF_PYTHON};SWITCHDIFF_EXE=${PROJECT_BINARY_DIR}/src/cli/switchdiff;OMP_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
  set_tests_properties(${test} PROPERTIES LABELS "${labels}" TIMEOUT ${timeout} SKIP_RETURN_CODE 77
                       ENVIRONMENT "${env}")
endfunction()
