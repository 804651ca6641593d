// Reward statistics of a policy against its frozen reference, with bootstrap confidence
// intervals (objective.md §8): reward accuracy, mean margin, mean chosen/rejected log-probs.
//
// Pure functions over per-pair sequence log-probs (ℓ summed over completion tokens, fp64 here);
// computing those log-probs from a model is evaluator.h's job. Intervals are percentile
// bootstrap intervals from a seeded generator, so the same inputs and seed give the same
// interval on every machine. Does not read files or models.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace dpok::eval {

// A point estimate and its two-sided confidence interval [lower, upper].
struct Interval {
  double estimate = 0.0;
  double lower = 0.0;
  double upper = 0.0;
};

struct BootstrapOptions {
  int resamples = 1000;      // number of bootstrap resamples
  double confidence = 0.95;  // two-sided coverage of the interval
  std::uint64_t seed = 0;    // seed of the resampling generator
};

// The fewest values a bootstrap interval is computed from; fewer throw ConfigError.
inline constexpr std::size_t kMinBootstrapValues = 2;

// Mean of `values` with its percentile-bootstrap interval.
// Throws ConfigError naming `what` when values.size() < kMinBootstrapValues, when a value is
// not finite, or when the options are out of range (resamples < 1, confidence outside (0, 1)).
Interval bootstrap_mean(std::span<const double> values, const BootstrapOptions& options,
                        const std::string& what = "values");

// Per-pair sequence log-probs (summed over completion tokens): the four vectors have one entry
// per preference pair, in the same order.
struct PairLogps {
  std::vector<double> policy_chosen;
  std::vector<double> policy_rejected;
  std::vector<double> reference_chosen;
  std::vector<double> reference_rejected;
};

// TRL's rewards/* metrics with intervals. Rewards are β·(ℓ_θ − ℓ_ref); accuracy counts pairs
// whose chosen reward is strictly greater than the rejected one (TRL's `>`), so a policy equal
// to its reference has accuracy 0 and margin 0.
struct RewardMetrics {
  std::size_t pairs = 0;
  Interval accuracy;         // rewards/accuracies
  Interval margin;           // rewards/margins = β(r⁺ − r⁻)
  Interval chosen_reward;    // rewards/chosen
  Interval rejected_reward;  // rewards/rejected
  Interval chosen_logps;     // logps/chosen (policy)
  Interval rejected_logps;   // logps/rejected (policy)
};

// Throws ConfigError when the vectors differ in length, hold a non-finite value, or have fewer
// than kMinBootstrapValues pairs; β must be > 0.
RewardMetrics reward_metrics(const PairLogps& logps, double beta, const BootstrapOptions& options);

// Per-pair indicators 1{β r⁺ > β r⁻} (the accuracy's summands), for paired comparisons.
std::vector<double> reward_correct(const PairLogps& logps, double beta);

// Paired difference mean(b − a) of two per-record series measured on the same records (e.g.
// reward_correct of two checkpoints), with a bootstrap interval that resamples records jointly.
// Throws ConfigError when the lengths differ or are below kMinBootstrapValues.
Interval paired_difference(std::span<const double> a, std::span<const double> b,
                           const BootstrapOptions& options, const std::string& what = "values");

}  // namespace dpok::eval
