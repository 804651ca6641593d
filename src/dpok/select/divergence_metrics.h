// Divergence selection metrics (objective.md §7) from the reference model's per-position
// next-token distributions over chosen completions, and the rule that maps them to a
// recommended token-level divergence.
//
// - support overlap: fraction of completion tokens inside the reference's top-p nucleus (p 0.9);
// - drift magnitude: mean over tokens of (−log p_t(y_t)) − H(p_t);
// - kurtosis: excess kurtosis of the per-token surprisals −log p_t(y_t);
// - smoothness: mean total variation between consecutive positions' distributions.
// Records are streamed through an accumulator so no [N, T, V] tensor is held. Pure tensor code:
// does not run the model (selector.h does).
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace dpok::select {

inline constexpr double kNucleusP = 0.9;
// Drift above this (nats per token of excess surprisal) counts as large (dpok choice: the data
// are then on average e-times less likely than the reference's own entropy suggests).
inline constexpr double kLargeDrift = 1.0;
inline constexpr double kLowOverlap = 0.5;
inline constexpr double kHeavyTailKurtosis = 3.0;
// The fewest completion tokens the metrics are computed from; fewer throw ConfigError.
inline constexpr std::int64_t kMinDivergenceTokens = 4;

struct DivergenceMetrics {
  std::int64_t tokens = 0;       // completion tokens seen
  std::int64_t transitions = 0;  // consecutive position pairs (smoothness)
  double support_overlap = 0.0;
  double drift = 0.0;
  double kurtosis = 0.0;
  double smoothness = 0.0;
  double mean_surprisal = 0.0;
  double mean_entropy = 0.0;
};

// Streams records; fp64 accumulation.
class DivergenceAccumulator {
 public:
  // log_probs [T, V] (log-softmax of the reference at the positions predicting each completion
  // token), targets [T] (int64, the completion tokens). T may be 0 (skipped).
  // Throws ConfigError on shape mismatch or a target outside [0, V).
  void add(const at::Tensor& log_probs, const at::Tensor& targets);

  // Throws ConfigError when fewer than kMinDivergenceTokens tokens were added, or the
  // surprisals have zero variance (kurtosis undefined).
  DivergenceMetrics finish() const;

 private:
  std::vector<double> surprisal_;
  double entropy_sum_ = 0.0;
  double inside_nucleus_ = 0.0;
  double tv_sum_ = 0.0;
  std::int64_t transitions_ = 0;
};

struct DivergenceRecommendation {
  std::string divergence;    // objective.md §6 name: kl, js, renyi, ...
  double renyi_order = 0.0;  // set when divergence == "renyi"
  std::vector<std::string> alternatives;
  std::vector<std::string> reasons;
};

// objective.md §7: overlap < 0.5 or drift > kLargeDrift → js (bounded; hellinger, tv,
// wasserstein listed as alternatives); else kurtosis > 3 → renyi (a = 0.9; bhattacharyya as
// alternative); else kl.
DivergenceRecommendation recommend_divergence(const DivergenceMetrics& metrics);

}  // namespace dpok::select
