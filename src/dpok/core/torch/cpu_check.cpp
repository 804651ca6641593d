// Start-up check of the CPU's matrix kernels (see cpu_check.h).
#include "dpok/core/torch/cpu_check.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <string>

namespace dpok {
namespace {

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
}

// Maximum clock of core 0 in GHz, from cpufreq, else the fastest "cpu MHz" line; 0 when unknown.
double max_clock_ghz() {
  std::ifstream freq("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
  if (double khz = 0; freq >> khz && khz > 0) return khz * 1e-6;
  std::ifstream in("/proc/cpuinfo");
  double mhz = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("cpu MHz", 0) == 0) {
      mhz = std::max(mhz, std::stod(line.substr(line.find(':') + 1)));
    }
  }
  return mhz * 1e-3;
}

struct VectorUnit {
  const char* name;
  double fp32_flops_per_cycle;  // two FMA pipes of the given width (8 lanes per 256 bits)
};

VectorUnit widest_vector_unit() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return {"avx512", 64};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {"avx2+fma", 32};
  if (__builtin_cpu_supports("avx")) return {"avx", 16};
  return {"sse", 8};
}

std::string blas_of_build() {
  const std::string config = at::show_config();
  std::smatch match;
  if (std::regex_search(config, match, std::regex("BLAS_INFO=([A-Za-z0-9_]+)"))) {
    std::string blas = match[1];
    if (blas == "mkl" &&
        std::regex_search(config, match, std::regex("Math Kernel Library Version ([0-9.]+)"))) {
      return "MKL " + match[1].str();
    }
    return blas;
  }
  return "unknown BLAS";
}

// Best of a few 384³ products (57 MFLOP each) on this thread, with LibTorch's intra-op pool held
// at one thread for the duration so the figure is per core.
double measure_gflops() {
  const int64_t n = 384;
  at::NoGradGuard no_grad;
  const auto a = at::rand({n, n}), b = at::rand({n, n});
  auto c = at::empty({n, n});
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  at::mm_out(c, a, b);  // warm up: page in, select kernels
  double best = 1e9;
  for (int i = 0; i < 5; ++i) {
    const double start = thread_cpu_seconds();
    at::mm_out(c, a, b);
    best = std::min(best, thread_cpu_seconds() - start);
  }
  at::set_num_threads(threads);
  return 2.0 * n * n * n / std::max(best, 1e-9) * 1e-9;
}

}  // namespace

CpuKernelCheck check_cpu_kernels() {
  const auto unit = widest_vector_unit();
  CpuKernelCheck check;
  check.cpu = cpu_model();
  check.vector_isa = unit.name;
  check.aten_kernels = at::get_cpu_capability();
  check.blas = blas_of_build();
  check.measured_gflops = measure_gflops();
  check.peak_gflops = unit.fp32_flops_per_cycle * max_clock_ghz();
  return check;
}

std::string describe(const CpuKernelCheck& check) {
  std::string line =
      fmt::format("cpu: {} ({}), ATen kernels {}, {}: {:.0f} GFLOP/s per core", check.cpu,
                  check.vector_isa, check.aten_kernels, check.blas, check.measured_gflops);
  if (check.peak_gflops > 0) {
    line += fmt::format(" (its {} peak at the reported clock: {:.0f})", check.vector_isa,
                        check.peak_gflops);
  }
  line += "\n";
  if (!check.fits()) {
    line += fmt::format(
        "warning: matrix products run at {:.0f}% of this CPU's {} peak: the BLAS library ({}) "
        "probably does not recognise the processor and uses generic kernels; expect training "
        "2-4x slower than this CPU allows (a busy machine also lowers the figure)\n",
        100.0 * check.measured_gflops / check.peak_gflops, check.vector_isa, check.blas);
  }
  return line;
}

}  // namespace dpok
