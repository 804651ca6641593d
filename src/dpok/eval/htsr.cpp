// HT-SR: empirical spectral densities and the Clauset–Shalizi–Newman power-law fit.
#include "dpok/eval/htsr.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "dpok/core/error.h"

namespace dpok::eval {
namespace {

// KS distance of the sorted tail values[start..] against the power law (xmin, alpha).
double ks_distance(const std::vector<double>& sorted, std::size_t start, double alpha) {
  const double xmin = sorted[start];
  const auto k = static_cast<double>(sorted.size() - start);
  double worst = 0.0;
  for (std::size_t i = start; i < sorted.size(); ++i) {
    const double model = 1.0 - std::pow(sorted[i] / xmin, 1.0 - alpha);
    const double rank = static_cast<double>(i - start);
    worst = std::max({worst, std::abs((rank + 1.0) / k - model), std::abs(rank / k - model)});
  }
  return worst;
}

}  // namespace

PowerLawFit fit_power_law(std::vector<double> values) {
  std::erase_if(values, [](double v) { return !(v > 0.0) || !std::isfinite(v); });
  if (values.size() < kMinTailSize) {
    DPOK_THROW(ConfigError, "htsr", "power-law fit needs at least {} positive values, got {}",
               kMinTailSize, values.size());
  }
  std::sort(values.begin(), values.end());
  // suffix_log[i] = Σ_{j ≥ i} ln x_j, so each candidate's α costs O(1) before its KS scan.
  std::vector<double> suffix_log(values.size() + 1, 0.0);
  for (std::size_t i = values.size(); i-- > 0;)
    suffix_log[i] = suffix_log[i + 1] + std::log(values[i]);

  PowerLawFit best;
  best.ks_distance = std::numeric_limits<double>::infinity();
  for (std::size_t start = 0; start + kMinTailSize <= values.size(); ++start) {
    if (start > 0 && values[start] == values[start - 1]) continue;  // same candidate λ_min
    const auto k = static_cast<double>(values.size() - start);
    const double log_sum = suffix_log[start] - k * std::log(values[start]);
    if (!(log_sum > 0.0)) continue;  // all tail values equal: no power law to fit
    const double alpha = 1.0 + k / log_sum;
    const double distance = ks_distance(values, start, alpha);
    if (distance < best.ks_distance) {
      best = {alpha, values[start], distance, values.size() - start};
    }
  }
  if (best.tail_size == 0) {
    DPOK_THROW(ConfigError, "htsr", "power-law fit: all {} values are equal", values.size());
  }
  return best;
}

at::Tensor spectral_density(const at::Tensor& weight) {
  if (weight.dim() != 2) {
    DPOK_THROW(ConfigError, "htsr", "spectral density needs a 2-D weight, got {} dims",
               weight.dim());
  }
  auto w = weight.detach().to(at::kCPU, at::kDouble);
  if (w.size(0) < w.size(1)) w = w.t();
  const double n = static_cast<double>(w.size(0));
  // Squared singular values avoid forming WᵀW, which would square the condition number.
  const auto singular = at::linalg_svdvals(w);
  return std::get<0>((singular * singular / n).sort());
}

HtsrSummary analyze_weights(const std::vector<std::pair<std::string, at::Tensor>>& weights) {
  HtsrSummary summary;
  for (const auto& [name, weight] : weights) {
    if (weight.dim() != 2) continue;
    const auto smaller = std::min(weight.size(0), weight.size(1));
    if (smaller < static_cast<std::int64_t>(kMinTailSize)) {
      summary.skipped.push_back(
          fmt::format("{} ({} eigenvalues < {})", name, smaller, kMinTailSize));
      continue;
    }
    const auto eigen = spectral_density(weight).contiguous();
    std::vector<double> values(eigen.data_ptr<double>(), eigen.data_ptr<double>() + eigen.numel());
    LayerAlpha layer;
    layer.name = name;
    layer.rows = std::max(weight.size(0), weight.size(1));
    layer.cols = smaller;
    layer.lambda_max = values.back();
    try {
      layer.fit = fit_power_law(values);
    } catch (const ConfigError& e) {
      summary.skipped.push_back(fmt::format("{} ({})", name, e.what()));
      continue;
    }
    layer.flagged = layer.fit.alpha < 2.0;
    summary.layers.push_back(std::move(layer));
  }
  if (summary.layers.empty()) {
    DPOK_THROW(ConfigError, "htsr", "no 2-D weight matrix with at least {} eigenvalues to fit",
               kMinTailSize);
  }
  double weighted = 0.0, plain = 0.0;
  for (const auto& layer : summary.layers) {
    weighted += layer.fit.alpha * std::log10(layer.lambda_max);
    plain += layer.fit.alpha;
  }
  const auto count = static_cast<double>(summary.layers.size());
  summary.weighted_alpha = weighted / count;
  summary.mean_alpha = plain / count;
  return summary;
}

}  // namespace dpok::eval
