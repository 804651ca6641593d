// Entropic optimal transport for the wasserstein token-level divergence (objective.md §6).
//
// Does: the debiased Sinkhorn divergence S_ε(a, b) = OT_ε(a, b) − ½OT_ε(a, a) − ½OT_ε(b, b)
// between batches of small discrete distributions (the top-k union plus tail bucket built by
// token_penalty.h), in the log domain, with a fixed number of symmetric (averaged) iterations
// whose ε decays from the cost diameter 2 to the target over the first half (ε-scaling); the
// ground cost 1 − cos between token input embeddings with the tail bucket as an extra orthogonal
// point (cost 1 to every token, 0 to itself).
// Why debiased (dpok choice): plain entropic OT is > 0 for identical distributions; S_ε is 0 there
// and ≥ 0 otherwise (Feydy et al. 2019; exp(−C/ε) is a Gaussian kernel on the unit sphere), as
// §9 requires. Values are clamped at 0 against the residual of a truncated iteration.
// Memory: sinkhorn_divergence runs its iterations without autograd history and recomputes them
// in backward in slices of 256 rows (a checkpoint), so no 50-iteration graph is kept.
// Does not: build supports (token_penalty.h) or take gradients w.r.t. the cost/embeddings.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace dpok::objective {

// log_a, log_b [n, m]: log-masses (each row sums to 1 after exp; use kLogProbFloor, not −inf,
// for empty entries); cost [n, m, m] symmetric with entries in [0, 2], constant. Returns
// S_ε [n] ≥ 0, differentiable w.r.t. log_a and log_b (exact gradient of the truncated
// iteration, recomputed in backward).
at::Tensor sinkhorn_divergence(const at::Tensor& log_a, const at::Tensor& log_b,
                               const at::Tensor& cost, double epsilon, int64_t iterations);

// The plain reference: the same iteration with ordinary autograd through every step.
at::Tensor sinkhorn_divergence_reference(const at::Tensor& log_a, const at::Tensor& log_b,
                                         const at::Tensor& cost, double epsilon,
                                         int64_t iterations);

// Ground cost for supports ids [n, u] (token ids into embeddings [V, H]) plus a trailing tail
// bucket: [n, u+1, u+1] with C_ij = 1 − cos(E_i, E_j) (diagonal 0), C_tail,j = 1, C_tail,tail = 0.
// Computed without gradient, in the embeddings' dtype converted to `dtype`.
at::Tensor cosine_cost_with_tail(const at::Tensor& ids, const at::Tensor& embeddings,
                                 at::ScalarType dtype);

}  // namespace dpok::objective
