// Device, dtype and thread-count parsing, process settings, the exit-code mapping.
#include "dpok/core/torch/runtime.h"

#include <ATen/Context.h>
#include <ATen/DeviceAccelerator.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <c10/util/Exception.h>

#include <cstdlib>
#include <new>
#include <ostream>
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

int64_t peak_device_memory_bytes(c10::Device device) {
  if (device.is_cpu()) return 0;
  const auto index = device.has_index() ? device.index() : at::accelerator::getDeviceIndex();
  const auto stats = at::accelerator::getDeviceStats(index);
  return stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)]
      .peak;
}

void configure_process() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's ceiling for this setting
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

int report_exception(const std::exception_ptr& error, std::ostream& out) {
  constexpr const char* kBug =
      "dpok: internal error (a bug in dpok; please report it with the command line): ";
  constexpr const char* kOutOfMemory =
      "dpok: error: out of memory; reduce the batch size, max_length or the model size";
  try {
    std::rethrow_exception(error);
  } catch (const InternalError& e) {
    out << kBug << e.what() << "\n";
    return kExitInternal;
  } catch (const Error& e) {
    out << "dpok: error: " << e.what() << "\n";
    return kExitUserError;
  } catch (const std::bad_alloc&) {
    out << kOutOfMemory << "\n";
    return kExitUserError;
  } catch (const c10::OutOfMemoryError& e) {
    out << kOutOfMemory << " (" << e.what_without_backtrace() << ")\n";
    return kExitUserError;
  } catch (const std::exception& e) {
    out << kBug << e.what() << "\n";
  } catch (...) {
    out << kBug << "an exception of unknown type\n";
  }
  return kExitInternal;
}

void init_threads(int threads) {
  if (threads <= 0) {
    if (const char* env = std::getenv("DPOK_THREADS"); env != nullptr) threads = std::atoi(env);
  }
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
}

}  // namespace dpok
