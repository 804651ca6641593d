// PND / PNAV / TAT / NAG and the kernel recommendation rule (objective.md §7).
#include "dpok/select/kernel_metrics.h"

#include <algorithm>
#include <cmath>

#include "dpok/core/error.h"

namespace dpok::select {
namespace {

std::string shape_of(const at::Tensor& t) {
  std::string out = "[";
  for (std::int64_t i = 0; i < t.dim(); ++i) out += (i ? ", " : "") + std::to_string(t.size(i));
  return out + "]";
}

}  // namespace

KernelMetrics kernel_metrics(const std::string& name, const LogKernelFn& log_kernel,
                             const at::Tensor& prompt, const at::Tensor& chosen,
                             const at::Tensor& rejected) {
  if (prompt.dim() != 2 || !prompt.sizes().equals(chosen.sizes()) ||
      !prompt.sizes().equals(rejected.sizes())) {
    DPOK_THROW(ConfigError, "select",
               "kernel {}: prompt/chosen/rejected embeddings must be [N, d] of one shape, got {} "
               "{} {}",
               name, shape_of(prompt), shape_of(chosen), shape_of(rejected));
  }
  const auto n = prompt.size(0);
  if (n < kMinKernelRecords) {
    DPOK_THROW(ConfigError, "select", "too few records for kernel metrics: need {}, got {}",
               kMinKernelRecords, n);
  }
  const auto margin = (log_kernel(prompt, chosen) - log_kernel(prompt, rejected)).to(at::kDouble);
  if (!at::isfinite(margin).all().item<bool>()) {
    DPOK_THROW(ConfigError, "select", "kernel {}: non-finite log-kernel margin", name);
  }
  // K̃(u, v) = K(u, v) / √(K(u, u) K(v, v)), in log form.
  const auto normalised = log_kernel(chosen, rejected).to(at::kDouble) -
                          0.5 * (log_kernel(chosen, chosen).to(at::kDouble) +
                                 log_kernel(rejected, rejected).to(at::kDouble));
  KernelMetrics m;
  m.kernel = name;
  m.records = n;
  m.mean_margin = margin.mean().item<double>();
  m.pnav = margin.var(/*unbiased=*/false).item<double>();
  // Margins within rounding of 0 are ties, not agreements: mathematically equal margins (e.g.
  // linear and rbf on unit vectors, objective.md §7) must give the same TAT.
  const double tie = kTieTolerance * std::max(1.0, margin.abs().max().item<double>());
  m.tat = (margin > tie).to(at::kDouble).mean().item<double>();
  m.pnd = (1.0 - normalised.exp()).mean().item<double>();
  if (!(m.pnav > 0.0)) {
    DPOK_THROW(ConfigError, "select",
               "kernel {}: all {} margins are equal ({}), so NAG is undefined; are chosen and "
               "rejected completions identical?",
               name, n, m.mean_margin);
  }
  m.nag = m.mean_margin / std::sqrt(m.pnav);
  return m;
}

namespace {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const auto mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : 0.5 * (values[mid - 1] + values[mid]);
}

}  // namespace

KernelRecommendation recommend_kernel(const std::vector<KernelMetrics>& metrics) {
  if (metrics.empty()) DPOK_THROW(ConfigError, "select", "no kernel metrics to rank");
  std::vector<const KernelMetrics*> ranked;
  for (const auto& m : metrics) ranked.push_back(&m);
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto* a, const auto* b) { return a->nag > b->nag; });
  const auto& best = *ranked.front();
  KernelRecommendation out;
  if (best.nag <= 0.0) {
    out.kernel = "none";
    out.gamma = 0.0;
    out.reasons.push_back(fmt::format(
        "best NAG is {:.4f} ({}) <= 0: the kernel margin disagrees with the preferences on "
        "average (TAT {:.3f}), so the semantic term would push against the labels; gamma = 0",
        best.nag, best.kernel, best.tat));
    return out;
  }
  std::vector<double> pnavs;
  for (const auto& m : metrics) pnavs.push_back(m.pnav);
  const double pnav_median = median(pnavs);
  bool hmk = false;
  if (ranked.size() >= 2) {
    const auto& second = *ranked[1];
    const bool close = best.nag - second.nag <= 0.1 * best.nag;
    const bool varied = best.pnav > pnav_median && second.pnav > pnav_median;
    hmk = close && varied;
    out.reasons.push_back(fmt::format(
        "best NAG {:.4f} ({}) vs second {:.4f} ({}): {} 10%; PNAV {:.4g} / {:.4g} vs median "
        "{:.4g}: {}",
        best.nag, best.kernel, second.nag, second.kernel, close ? "within" : "not within",
        best.pnav, second.pnav, pnav_median, varied ? "both above" : "not both above"));
  }
  if (hmk) {
    out.kernel = "hmk";
    out.reasons.push_back(fmt::format(
        "{} and {} are about equally informative with high margin variance: the hierarchical "
        "mixture (HMK) can use both",
        best.kernel, ranked[1]->kernel));
  } else {
    out.kernel = best.kernel;
    out.reasons.push_back(fmt::format("{} has the highest NAG", best.kernel));
  }
  if (best.tat < kWeakTat) {
    out.gamma = kWeakSignalGamma;
    out.reasons.push_back(
        fmt::format("best TAT {:.3f} < {}: weak semantic signal, gamma capped at {}", best.tat,
                    kWeakTat, kWeakSignalGamma));
  } else {
    out.gamma = kDefaultGamma;
    out.reasons.push_back(
        fmt::format("best TAT {:.3f} >= {}: gamma {}", best.tat, kWeakTat, kDefaultGamma));
  }
  return out;
}

}  // namespace dpok::select
