// Heavy-tailed self-regularisation (HT-SR) analysis of weight matrices (objective.md §8):
// the empirical spectral density of each 2-D weight, a power-law fit of its tail, and the
// weighted alpha summary.
//
// For W (n × m, transposed first so that n ≥ m) the eigenvalues of WᵀW/n are fitted with the
// continuous Clauset–Shalizi–Newman estimator: for every candidate λ_min (each eigenvalue, with
// at least kMinTailSize eigenvalues in the tail) α = 1 + k / Σ ln(λ_i/λ_min) over the k tail
// eigenvalues, and the λ_min whose fitted law has the smallest Kolmogorov–Smirnov distance to the
// tail's empirical CDF wins. Layers with α < 2 are flagged as possibly over-fitted.
// Pure functions (no model or file access); eigenvalues are computed in fp64.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

namespace dpok::eval {

// Fewest tail points a candidate λ_min may leave (dpok choice: smaller tails make the KS
// distance, and hence the choice of λ_min, too noisy to be meaningful).
inline constexpr std::size_t kMinTailSize = 10;

struct PowerLawFit {
  double alpha = 0.0;         // fitted exponent of p(x) ∝ x^(−α)
  double xmin = 0.0;          // chosen λ_min
  double ks_distance = 0.0;   // sup |S(x) − P(x)| over the tail
  std::size_t tail_size = 0;  // number of values ≥ xmin
};

// CSN fit of positive `values`. KS distance of a sorted tail x_1 ≤ … ≤ x_k against
// P(x) = 1 − (x/xmin)^(1−α) is max_i max(|i/k − P(x_i)|, |(i−1)/k − P(x_i)|).
// Throws ConfigError when fewer than kMinTailSize positive, finite values are given.
PowerLawFit fit_power_law(std::vector<double> values);

// Eigenvalues of WᵀW/n (ascending, fp64) of a 2-D weight, transposed so that n ≥ m.
// Throws ConfigError when `weight` is not 2-D.
at::Tensor spectral_density(const at::Tensor& weight);

struct LayerAlpha {
  std::string name;
  std::int64_t rows = 0;  // n (≥ cols)
  std::int64_t cols = 0;  // m
  double lambda_max = 0.0;
  PowerLawFit fit;
  bool flagged = false;  // α < 2: possibly over-fitted
};

struct HtsrSummary {
  std::vector<LayerAlpha> layers;    // fitted layers, input order
  std::vector<std::string> skipped;  // "name (reason)" for matrices too small to fit
  double weighted_alpha = 0.0;       // mean over layers of α_l · log10 λ_max,l
  double mean_alpha = 0.0;
};

// Analyses every 2-D tensor in `weights` (other ranks are ignored). Matrices whose smaller side
// has fewer than kMinTailSize eigenvalues are listed in `skipped`. Throws ConfigError when no
// matrix can be fitted.
HtsrSummary analyze_weights(const std::vector<std::pair<std::string, at::Tensor>>& weights);

}  // namespace dpok::eval
