// Kernels of objective.md §4 and the semantic log-margin m = log K(e_x, e⁺) − log K(e_x, e⁻).
//
// Does: row-wise log K(u_i, v_i) for linear, rbf, polynomial, spectral-mixture and mahalanobis
// kernels, always in log form (no log of an underflowed exp); a module holding each kernel's
// hyper-parameters, fixed (buffers) or learned (parameters through softplus / softmax
// parameterisations); the median-heuristic bandwidth; mahalanobis identity or data-whitening
// initialisation, full or low-rank. Cost is O(N·d) (O(N·d·r) for mahalanobis).
// Does not: normalise or pool embeddings (semantic.h), mix kernels (hmk.h), or evaluate N×N Gram
// matrices (selection metrics live in dpok::select).
//
// Shapes: u, v [N, d] floating (fp32 in training, fp64 in tests), same dtype and device;
// results [N] in that dtype. Scalar hyper-parameters are 0-dim tensors so they can carry grad.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <utility>

#include "dpok/objective/config.h"

namespace dpok::objective {

// Polynomial kernel bases uᵀv + c are clamped at this before the log (§4).
constexpr double kPolynomialBaseFloor = 1e-6;

// linear: log K = uᵀv / τ.
at::Tensor linear_log_kernel(const at::Tensor& u, const at::Tensor& v, const at::Tensor& tau);
// rbf: log K = −‖u − v‖² / (2σ²).
at::Tensor rbf_log_kernel(const at::Tensor& u, const at::Tensor& v, const at::Tensor& sigma);
// polynomial: log K = p · log(max(uᵀv + c, 1e-6)).
at::Tensor polynomial_log_kernel(const at::Tensor& u, const at::Tensor& v, const at::Tensor& c,
                                 const at::Tensor& p);
// spectral mixture: log K = logsumexp_k(log w_k − ω_k ‖u − v‖²); log_weights, frequencies [K]
// (ω absolute, i.e. already divided by σ²).
at::Tensor spectral_log_kernel(const at::Tensor& u, const at::Tensor& v,
                               const at::Tensor& log_weights, const at::Tensor& frequencies);
// mahalanobis: log K = −½ dᵀ(L Lᵀ + εI) d = −½(‖Lᵀd‖² + ε‖d‖²), factor L [d, r].
at::Tensor mahalanobis_log_kernel(const at::Tensor& u, const at::Tensor& v,
                                  const at::Tensor& factor, double epsilon);

// Inverse of softplus, for initialising a softplus-parameterised positive value.
double inverse_softplus(double value);

// One kernel of §4 (not HMK) with its hyper-parameters. With options.learn the positive scalars
// (tau, sigma or the median scale, c, p, spectral frequencies) are softplus(raw) parameters, the
// spectral weights softmax(logits), and mahalanobis L is a free [d, r] parameter; otherwise they
// are buffers. parameters() is therefore empty for a fixed kernel.
class KernelImpl : public torch::nn::Module {
 public:
  // `dim` is the embedding width d (needed by mahalanobis only; may be 0 otherwise).
  // Throws ConfigError for hmk (use Hmk) or for mahalanobis without a dimension.
  KernelImpl(KernelType type, const KernelOptions& options, int64_t dim = 0);

  // (log K(x, pos), log K(x, neg)), each [B]. With sigma_median the bandwidth is the median over
  // both sets of distances, so the margin stays antisymmetric under swapping pos and neg.
  std::pair<at::Tensor, at::Tensor> log_kernel_pair(const at::Tensor& x, const at::Tensor& pos,
                                                    const at::Tensor& neg);
  // m = log K(x, pos) − log K(x, neg) [B].
  at::Tensor margin(const at::Tensor& x, const at::Tensor& pos, const at::Tensor& neg);

  // Mahalanobis `init = data`: L from the covariance Σ of embeddings [N, d] (N ≥ 2), shrunk by
  // 1e-3·tr(Σ)/d·I: full rank L = C⁻ᵀ with Σ = C Cᵀ (so L Lᵀ = Σ⁻¹); rank r: L = U_r Λ_r^{−½} from
  // the top-r eigenpairs. Throws ConfigError for other kernels or bad shapes.
  void init_from_data(const at::Tensor& embeddings);

  KernelType type() const { return type_; }
  // Current constrained values (with grad when learned).
  at::Tensor tau() const { return positive(tau_); }
  at::Tensor c() const { return positive(c_); }
  at::Tensor p() const { return positive(p_); }
  at::Tensor spectral_log_weights() const;
  at::Tensor mahalanobis_factor() const { return factor_; }

 private:
  at::Tensor positive(const at::Tensor& stored) const;
  // σ for this batch: fixed/learned, or median × scale.
  at::Tensor bandwidth(const at::Tensor& x, const at::Tensor& pos, const at::Tensor& neg) const;
  at::Tensor log_kernel_with(const at::Tensor& u, const at::Tensor& v,
                             const at::Tensor& sigma) const;
  // Registers a positive scalar as a softplus-raw parameter (learn) or a plain buffer.
  at::Tensor add_positive(const std::string& name, double value);

  KernelType type_;
  KernelOptions options_;
  at::Tensor tau_, sigma_, c_, p_, spectral_logits_, frequencies_, factor_;
};
TORCH_MODULE(Kernel);

}  // namespace dpok::objective
