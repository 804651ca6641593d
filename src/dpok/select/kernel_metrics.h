// Kernel selection metrics PND, PNAV, TAT, NAG and the rule that turns them into a
// recommendation (objective.md §7).
//
// Pure functions over embeddings and a kernel given as a row-wise log K callable, so any kernel
// (objective::Kernel, a test's closed form, an HMK) can be scored. Does not compute embeddings
// (selector.h) or N×N Gram quantities (approx.h). Metrics are computed in fp64.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <string>
#include <vector>

namespace dpok::select {

// Row-wise log K(u_i, v_i): u, v [N, d] (same dtype) → [N].
using LogKernelFn = std::function<at::Tensor(const at::Tensor& u, const at::Tensor& v)>;

// The fewest records the kernel metrics are computed from; fewer throw ConfigError.
inline constexpr std::int64_t kMinKernelRecords = 3;

// |m_i| at or below this (relative to max |m|, at least absolute) counts as a tie for TAT.
inline constexpr double kTieTolerance = 1e-9;

struct KernelMetrics {
  std::string kernel;
  std::int64_t records = 0;
  double pnd = 0.0;   // mean 1 − K̃(e⁺, e⁻), K̃ normalised to K̃(u, u) = 1
  double pnav = 0.0;  // Var(m_i) (population variance)
  double tat = 0.0;   // fraction of records with m_i > 0 (beyond kTieTolerance)
  double nag = 0.0;   // mean(m_i) / std(m_i)
  double mean_margin = 0.0;
};

// Metrics of one kernel on prompt/chosen/rejected embeddings [N, d].
// Throws ConfigError when shapes differ, N < kMinKernelRecords, a margin is not finite, or every
// margin is equal (std 0: NAG undefined; e.g. chosen == rejected on every record).
KernelMetrics kernel_metrics(const std::string& name, const LogKernelFn& log_kernel,
                             const at::Tensor& prompt, const at::Tensor& chosen,
                             const at::Tensor& rejected);

struct KernelRecommendation {
  std::string kernel;  // "hmk", a kernel name, or "none" (semantic term off)
  double gamma = 0.0;  // recommended γ (0 = semantic term off)
  std::vector<std::string> reasons;
};

// γ recommended when the signal is healthy, and its cap when the best TAT is weak (< 0.55).
inline constexpr double kDefaultGamma = 0.1;
inline constexpr double kWeakSignalGamma = 0.05;
inline constexpr double kWeakTat = 0.55;

// objective.md §7: rank by NAG; best NAG ≤ 0 → γ = 0; HMK when the best two NAG are within 10%
// of each other and both PNAV exceed the median PNAV; otherwise the best kernel; γ ≤ 0.05 when
// the best TAT < 0.55. Throws ConfigError on an empty list.
KernelRecommendation recommend_kernel(const std::vector<KernelMetrics>& metrics);

}  // namespace dpok::select
