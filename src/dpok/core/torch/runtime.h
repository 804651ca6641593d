// Runtime choices made once and passed down: device, dtype, thread count (style.md rule 16).
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace dpok {

// "fp32"/"float32", "bf16"/"bfloat16", "fp16"/"float16", "fp64"/"float64".
// Throws ConfigError listing the valid names.
c10::ScalarType parse_dtype(const std::string& name);

// Canonical short name of a floating dtype ("fp32", "bf16", ...).
std::string dtype_name(c10::ScalarType dtype);

// "cpu", "cuda", "cuda:N", or "auto" (CUDA when available). Throws ConfigError.
c10::Device parse_device(const std::string& name);

// Process-wide settings for CPU speed; call first thing in main(), before any thread exists.
// - OpenMP idle policy. ATen's OpenMP workers busy-wait after each parallel region while
//   OpenBLAS's own pthreads run the matrix products, so on few cores the two pools fight for the
//   CPU (docs/benchmarks.md: about +40% forward and training-step throughput on 2 cores with
//   passive waiting). libgomp reads OMP_WAIT_POLICY once, when it is loaded before main(), so
//   when the variable is unset this re-executes the program once with OMP_WAIT_POLICY=PASSIVE.
//   A value the user set is respected. `argv` is main's, null-terminated.
// - glibc malloc. Activation-sized blocks (up to 32 MiB) stay on the heap and free memory is
//   returned to the system only above 1 GiB, instead of mmap/munmap per tensor per step, whose
//   page faults and page zeroing cost about a quarter of a forward pass.
void configure_process(char** argv);

// Sets LibTorch's intra-op threads: `threads` > 0, else DPOK_THREADS, else all cores.
// (Debian's LibTorch defaulted to one thread on these machines; notes.md.)
void init_threads(int threads = 0);

}  // namespace dpok
