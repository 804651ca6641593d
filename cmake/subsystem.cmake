# dpok_subsystem(<name> [TORCH] [DIR <dir under src/dpok>] DEPS <targets...>)
#
# Declares the static library dpok_<name> from src/dpok/<dir>/*.cpp and, when tests exist,
# the GoogleTest binary dpok_<name>_tests from tests/<dir>/*_test.cpp, run by CTest in shards.
# TORCH subsystems link LibTorch and share one precompiled header (src/dpok/core/torch/pch.h),
# compiled once.
function(dpok_subsystem name)
  cmake_parse_arguments(ARG "TORCH" "DIR" "DEPS" ${ARGN})
  if(NOT ARG_DIR)
    set(ARG_DIR ${name})
  endif()
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/dpok/${ARG_DIR}/*.cpp)
  file(GLOB tests CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/${ARG_DIR}/*_test.cpp)

  if(ARG_TORCH AND NOT TARGET dpok_pch)
    # A tiny object library that owns the precompiled header; everything else reuses it.
    add_library(dpok_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/pch_anchor.cpp)
    target_link_libraries(dpok_pch PUBLIC ${TORCH_LIBRARIES} fmt::fmt nlohmann_json::nlohmann_json
                                          Threads::Threads)
    target_precompile_headers(dpok_pch PRIVATE ${PROJECT_SOURCE_DIR}/src/dpok/core/torch/pch.h)
  endif()

  if(sources)
    add_library(dpok_${name} STATIC ${sources})
    set(scope PUBLIC)
  else()
    add_library(dpok_${name} INTERFACE)
    set(scope INTERFACE)
  endif()
  target_include_directories(dpok_${name} ${scope} ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(dpok_${name} ${scope} ${ARG_DEPS})
  if(ARG_TORCH)
    target_link_libraries(dpok_${name} ${scope} ${TORCH_LIBRARIES})
    if(sources)
      target_precompile_headers(dpok_${name} REUSE_FROM dpok_pch)
    endif()
  endif()

  if(tests)
    add_executable(dpok_${name}_tests ${tests})
    target_link_libraries(dpok_${name}_tests PRIVATE dpok_${name} dpok_testing GTest::gtest
                                                     GTest::gtest_main)
    if(ARG_TORCH)
      target_precompile_headers(dpok_${name}_tests REUSE_FROM dpok_pch)
    endif()
    # CTest runs each binary in shards (gtest's GTEST_TOTAL_SHARDS / GTEST_SHARD_INDEX), one per
    # test source file, rather than one process per test: a process linking LibTorch 2.x spends
    # about a second registering operators before main(), which per test would double the suite's
    # time (docs/benchmarks.md, "platform"). One test: dpok_<name>_tests --gtest_filter=Suite.Name.
    # Each shard computes on one thread: CTest runs as many shards as there are cores.
    list(LENGTH tests shards)
    math(EXPR last "${shards} - 1")
    foreach(index RANGE ${last})
      add_test(NAME ${name}.${index} COMMAND dpok_${name}_tests --gtest_brief=1)
      set_tests_properties(${name}.${index} PROPERTIES
        LABELS ${name}
        ENVIRONMENT "GTEST_TOTAL_SHARDS=${shards};GTEST_SHARD_INDEX=${index};${DPOK_TEST_THREADS}")
    endforeach()
  endif()
endfunction()
