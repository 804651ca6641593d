// Bootstrap intervals and reward statistics (objective.md §8).
#include "dpok/eval/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "dpok/core/error.h"

namespace dpok::eval {
namespace {

void check_options(const BootstrapOptions& options) {
  if (options.resamples < 1) {
    DPOK_THROW(ConfigError, "eval", "bootstrap resamples must be >= 1, got {}", options.resamples);
  }
  if (!(options.confidence > 0.0 && options.confidence < 1.0)) {
    DPOK_THROW(ConfigError, "eval", "bootstrap confidence must be in (0, 1), got {}",
               options.confidence);
  }
}

void check_values(std::span<const double> values, const std::string& what) {
  if (values.size() < kMinBootstrapValues) {
    DPOK_THROW(ConfigError, "eval", "too few records for {}: need at least {}, got {}", what,
               kMinBootstrapValues, values.size());
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      DPOK_THROW(ConfigError, "eval", "{}: record {} is not finite ({})", what, i, values[i]);
    }
  }
}

// Linear-interpolated quantile of sorted values (numpy's default "linear" method).
double quantile_sorted(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const auto above = std::min(below + 1, sorted.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return sorted[below] + fraction * (sorted[above] - sorted[below]);
}

double mean_of(std::span<const double> values) {
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

}  // namespace

Interval bootstrap_mean(std::span<const double> values, const BootstrapOptions& options,
                        const std::string& what) {
  check_options(options);
  check_values(values, what);
  std::mt19937_64 generator(options.seed);
  std::uniform_int_distribution<std::size_t> pick(0, values.size() - 1);
  std::vector<double> means(static_cast<std::size_t>(options.resamples));
  for (auto& m : means) {
    double sum = 0.0;
    for (std::size_t i = 0; i < values.size(); ++i) sum += values[pick(generator)];
    m = sum / static_cast<double>(values.size());
  }
  std::sort(means.begin(), means.end());
  const double tail = (1.0 - options.confidence) / 2.0;
  return {mean_of(values), quantile_sorted(means, tail), quantile_sorted(means, 1.0 - tail)};
}

Interval paired_difference(std::span<const double> a, std::span<const double> b,
                           const BootstrapOptions& options, const std::string& what) {
  if (a.size() != b.size()) {
    DPOK_THROW(ConfigError, "eval", "{}: paired series differ in length ({} vs {})", what, a.size(),
               b.size());
  }
  std::vector<double> difference(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) difference[i] = b[i] - a[i];
  // Resampling the per-record differences resamples both series jointly.
  return bootstrap_mean(difference, options, what);
}

namespace {

void check_pair_logps(const PairLogps& logps, double beta) {
  if (!(beta > 0.0) || !std::isfinite(beta)) {
    DPOK_THROW(ConfigError, "eval", "beta must be a positive number, got {}", beta);
  }
  const std::size_t n = logps.policy_chosen.size();
  if (logps.policy_rejected.size() != n || logps.reference_chosen.size() != n ||
      logps.reference_rejected.size() != n) {
    DPOK_THROW(ConfigError, "eval",
               "pair log-prob vectors differ in length: policy {}/{}, reference {}/{}", n,
               logps.policy_rejected.size(), logps.reference_chosen.size(),
               logps.reference_rejected.size());
  }
}

}  // namespace

std::vector<double> reward_correct(const PairLogps& logps, double beta) {
  check_pair_logps(logps, beta);
  std::vector<double> correct(logps.policy_chosen.size());
  for (std::size_t i = 0; i < correct.size(); ++i) {
    const double chosen = beta * (logps.policy_chosen[i] - logps.reference_chosen[i]);
    const double rejected = beta * (logps.policy_rejected[i] - logps.reference_rejected[i]);
    correct[i] = chosen > rejected ? 1.0 : 0.0;
  }
  return correct;
}

RewardMetrics reward_metrics(const PairLogps& logps, double beta, const BootstrapOptions& options) {
  check_pair_logps(logps, beta);
  const std::size_t n = logps.policy_chosen.size();
  std::vector<double> chosen(n), rejected(n), margin(n);
  for (std::size_t i = 0; i < n; ++i) {
    chosen[i] = beta * (logps.policy_chosen[i] - logps.reference_chosen[i]);
    rejected[i] = beta * (logps.policy_rejected[i] - logps.reference_rejected[i]);
    margin[i] = chosen[i] - rejected[i];
  }
  RewardMetrics metrics;
  metrics.pairs = n;
  // Each statistic gets its own seed offset so the intervals are not artificially coupled.
  auto with_seed = [&](std::uint64_t offset) {
    BootstrapOptions o = options;
    o.seed = options.seed + offset;
    return o;
  };
  metrics.accuracy = bootstrap_mean(reward_correct(logps, beta), with_seed(0), "reward accuracy");
  metrics.margin = bootstrap_mean(margin, with_seed(1), "reward margin");
  metrics.chosen_reward = bootstrap_mean(chosen, with_seed(2), "chosen reward");
  metrics.rejected_reward = bootstrap_mean(rejected, with_seed(3), "rejected reward");
  metrics.chosen_logps = bootstrap_mean(logps.policy_chosen, with_seed(4), "chosen log-probs");
  metrics.rejected_logps =
      bootstrap_mean(logps.policy_rejected, with_seed(5), "rejected log-probs");
  return metrics;
}

}  // namespace dpok::eval
