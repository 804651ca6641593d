// Do LibTorch's matrix products run kernels that fit this CPU? A BLAS library that does not
// recognise the processor falls back to generic kernels without a word: Debian's OpenBLAS 0.3.21
// ran 4x slower on Sapphire Rapids (AVX-512) than on the EPYC machines it was measured on. dpok
// measures one single-thread fp32 matrix product at start-up (about 50 ms) and compares it with
// what the CPU's widest vector unit allows at its clock, and says so when it falls short.
#pragma once

#include <string>

namespace dpok {

struct CpuKernelCheck {
  std::string cpu;             // /proc/cpuinfo's model name
  std::string vector_isa;      // the widest the CPU has: "avx512", "avx2+fma", "avx", "sse"
  std::string aten_kernels;    // the vector kernels ATen dispatches to (at::get_cpu_capability)
  std::string blas;            // the BLAS LibTorch was built with (its build configuration)
  double measured_gflops = 0;  // fp32 matrix product, one thread, process CPU time
  double peak_gflops = 0;  // FLOP per cycle of vector_isa × the core's maximum clock; 0: unknown
  // Generic kernels reach at most a quarter of an AVX2 core and an eighth of an AVX-512 core;
  // fitting ones, above half. A third separates the two with room for a busy machine.
  bool fits() const { return peak_gflops <= 0 || measured_gflops >= peak_gflops / 3; }
};

// Measures (about 50 ms on one thread). Safe to call from any thread.
CpuKernelCheck check_cpu_kernels();

// One console line: "cpu: <model> (<isa>), ATen <kernels>, <blas>: <g> GFLOP/s per core", plus a
// warning line when the kernels do not fit.
std::string describe(const CpuKernelCheck& check);

}  // namespace dpok
