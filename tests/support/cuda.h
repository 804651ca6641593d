// CUDA tests: where no CUDA device is present (CI, laptops) they are skipped with a message, also
// under CI; bench/gpu/run.sh runs them on a GPU machine.
#pragma once

#include <gtest/gtest.h>
#include <torch/cuda.h>

#define DPOK_REQUIRE_CUDA()                                                                \
  if (!torch::cuda::is_available()) {                                                      \
    GTEST_SKIP() << "no CUDA device (bench/gpu/run.sh runs these tests on a GPU machine)"; \
  }
