// Device, dtype and thread-count parsing.
#include "dpok/core/torch/runtime.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <unistd.h>

#include <cstdlib>
#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "dpok/core/error.h"

namespace dpok {

c10::ScalarType parse_dtype(const std::string& name) {
  if (name == "fp32" || name == "float32" || name == "float") return c10::kFloat;
  if (name == "bf16" || name == "bfloat16") return c10::kBFloat16;
  if (name == "fp16" || name == "float16" || name == "half") return c10::kHalf;
  if (name == "fp64" || name == "float64" || name == "double") return c10::kDouble;
  DPOK_THROW(ConfigError, "config", "unknown dtype '{}' (valid: fp32, bf16, fp16, fp64)", name);
}

std::string dtype_name(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::kFloat:
      return "fp32";
    case c10::kBFloat16:
      return "bf16";
    case c10::kHalf:
      return "fp16";
    case c10::kDouble:
      return "fp64";
    default:
      return c10::toString(dtype);
  }
}

c10::Device parse_device(const std::string& name) {
  if (name == "auto")
    return torch::cuda::is_available() ? c10::Device(c10::kCUDA) : c10::Device(c10::kCPU);
  try {
    c10::Device device(name);
    if (device.is_cuda() && !torch::cuda::is_available()) {
      DPOK_THROW(ConfigError, "config", "device '{}' requested but CUDA is not available", name);
    }
    return device;
  } catch (const c10::Error&) {
    DPOK_THROW(ConfigError, "config", "unknown device '{}' (valid: cpu, cuda, cuda:N, auto)", name);
  }
}

void configure_process(char** argv) {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's ceiling for this setting
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
  execv("/proc/self/exe", argv);
  // Only reached when exec failed (no /proc): carry on, merely slower.
}

void init_threads(int threads) {
  if (threads <= 0) {
    if (const char* env = std::getenv("DPOK_THREADS"); env != nullptr) threads = std::atoi(env);
  }
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
}

}  // namespace dpok
