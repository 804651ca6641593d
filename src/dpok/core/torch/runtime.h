// Runtime choices made once and passed down: device, dtype, thread count (style.md rule 16); the
// process-wide CPU settings; the mapping of an exception that reaches main() to an exit code.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <exception>
#include <iosfwd>
#include <string>

namespace dpok {

// "fp32"/"float32", "bf16"/"bfloat16", "fp16"/"float16", "fp64"/"float64".
// Throws ConfigError listing the valid names.
c10::ScalarType parse_dtype(const std::string& name);

// Canonical short name of a floating dtype ("fp32", "bf16", ...).
std::string dtype_name(c10::ScalarType dtype);

// "cpu", "cuda", "cuda:N", or "auto" (CUDA when available). Throws ConfigError.
c10::Device parse_device(const std::string& name);

// Highest number of bytes the caching allocator of `device` (CUDA or another accelerator) has had
// allocated to tensors since the process started: torch.cuda.max_memory_allocated. 0 on the CPU.
int64_t peak_device_memory_bytes(c10::Device device);

// Process-wide settings for CPU speed: glibc malloc. Call it first thing in main(), before any
// thread exists. Activation-sized blocks (up to 32 MiB) stay on the heap and free memory is
// returned to the system only above 1 GiB, instead of mmap/munmap per tensor per step and the
// page faults and page zeroing that follow (with LibTorch 2.15: a training step 6-8% faster for
// 3-6% more peak RSS; docs/benchmarks.md, "platform"). OpenMP is left as LibTorch sets it up: with
// the wheel's MKL on its own libgomp there is one thread pool, and active waiting is the faster
// policy for one process.
void configure_process();

// Exit codes of the `dpok` command line (README, "Exit status").
enum ExitCode : int {
  kExitUserError = 1,  // dpok::Error: a file, configuration or value the user can fix
  kExitUsage = 2,      // the command line itself does not parse (unknown flag, missing argument)
  kExitInternal = 70,  // EX_SOFTWARE (sysexits.h): a bug in dpok
};

// main()'s last resort: writes one line about `error` to `out` and returns the exit code it maps
// to:
//   InternalError        "dpok: internal error (a bug in dpok; please ...)"    kExitInternal
//   other dpok::Error    "dpok: error: <what>"                                 kExitUserError
//   host or device OOM   "dpok: error: out of memory; reduce ..."              kExitUserError
//   anything else        "dpok: internal error (a bug in dpok; please ...)"    kExitInternal
// Anything else is a library exception (yaml-cpp, nlohmann::json, c10::Error) that escaped: dpok
// converts those into dpok::Error where it reads the input, so one that reaches main() is a
// missing conversion, a bug too.
int report_exception(const std::exception_ptr& error, std::ostream& out);

// Sets LibTorch's intra-op threads: `threads` > 0, else DPOK_THREADS, else all cores.
// (Debian's LibTorch defaulted to one thread on these machines; notes.md.)
void init_threads(int threads = 0);

}  // namespace dpok
