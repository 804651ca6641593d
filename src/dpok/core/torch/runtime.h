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

// Sets LibTorch's intra-op threads: `threads` > 0, else DPOK_THREADS, else all cores.
// (Debian's LibTorch defaulted to one thread on these machines; notes.md.)
void init_threads(int threads = 0);

}  // namespace dpok
