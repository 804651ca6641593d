// Low-rank approximations of N×N kernel Gram quantities for the selection metrics
// (objective.md §4, §7): random Fourier features for the rbf kernel and Nyström features for
// any kernel, plus the squared maximum mean discrepancy (MMD²) between two embedding sets,
// exactly or from features.
//
// Features φ(x) [N, D] satisfy φ(x)·φ(y) ≈ K(x, y), so a Gram mean over N×N pairs costs O(N·D)
// instead of O(N²·d). Randomness comes from a seeded std::mt19937_64 (the same on every
// machine and LibTorch version), never from LibTorch's global generator. Computed in fp64.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>

#include "dpok/select/kernel_metrics.h"

namespace dpok::select {

// Pairwise Gram matrix: x [n, d], y [m, d] → K [n, m].
using GramFn = std::function<at::Tensor(const at::Tensor& x, const at::Tensor& y)>;

// The Gram function of a row-wise log-kernel (evaluates all n·m pairs in row chunks).
GramFn gram_from_log_kernel(LogKernelFn log_kernel);

// Random Fourier features of exp(−‖x − y‖² / (2σ²)): φ(x) = √(2/D)·cos(Wx/σ + b), W ~ N(0, I),
// b ~ U[0, 2π). x [N, d] → [N, D]. Throws ConfigError for σ ≤ 0 or D < 1.
at::Tensor rff_features(const at::Tensor& x, double sigma, std::int64_t features,
                        std::uint64_t seed);

// Nyström features from `landmarks` rows of `x` drawn without replacement:
// φ(x) = K(x, Z)·U Λ^{−½} over the eigenpairs of K(Z, Z) with λ > 1e-10·λ_max.
// x [N, d] → [N, r], r ≤ landmarks. Throws ConfigError when landmarks < 1 or > N.
at::Tensor nystrom_features(const at::Tensor& x, const GramFn& gram, std::int64_t landmarks,
                            std::uint64_t seed);

// Biased (V-statistic) MMD² = mean K(x, x') + mean K(y, y') − 2 mean K(x, y), exact: O(N²).
double mmd2_exact(const GramFn& gram, const at::Tensor& x, const at::Tensor& y);

// The same from features: ‖mean φ(x) − mean φ(y)‖².
double mmd2_from_features(const at::Tensor& features_x, const at::Tensor& features_y);

}  // namespace dpok::select
