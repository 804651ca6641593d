// Hierarchical mixture of kernels, objective.md §5:
//   K_local = a₁K_rbf + a₂K_poly, K_global = b₁K_spectral + b₂K_mahalanobis, K = c₁K_local +
//   c₂K_global
// with a, b, c = softmax(η_local), softmax(η_global), softmax(η_top), all η starting at 0.
//
// Does: log K_HMK as one logsumexp over the four weighted component log-kernels (never a log of
// summed exps), the entropy regulariser Σ_w (log 2 − H(w)), and the mixture weights for logging.
// The η logits and every component's hyper-parameters are learned (§5 "the component kernels'
// parameters are learned too"), so all of them are in parameters(). Does not: weight the entropy
// term by γ_H (the Objective does) or choose the optimizer group (the trainer does, through
// Objective::kernel_parameters()).
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <map>
#include <string>
#include <utility>

#include "dpok/objective/kernels.h"

namespace dpok::objective {

// log K_HMK from the four component log-kernels (each [N]) and the three logit pairs η [2]:
// logsumexp over {log c₁a₁ + log K_rbf, log c₁a₂ + log K_poly, log c₂b₁ + log K_spec,
// log c₂b₂ + log K_maha}.
at::Tensor hmk_log_kernel(const at::Tensor& log_k_rbf, const at::Tensor& log_k_polynomial,
                          const at::Tensor& log_k_spectral, const at::Tensor& log_k_mahalanobis,
                          const at::Tensor& eta_local, const at::Tensor& eta_global,
                          const at::Tensor& eta_top);

// log 2 − H(softmax(η)) for a two-way mixture: 0 at equal weights, ≥ 0, → log 2 at collapse.
at::Tensor mixture_entropy_gap(const at::Tensor& eta);

class HmkImpl : public torch::nn::Module {
 public:
  // `options` configure the components as for single kernels (learn is forced on); `dim` is the
  // embedding width (for the mahalanobis component). Throws ConfigError when dim <= 0.
  HmkImpl(const KernelOptions& options, int64_t dim);

  // (log K(x, pos), log K(x, neg)), each [B].
  std::pair<at::Tensor, at::Tensor> log_kernel_pair(const at::Tensor& x, const at::Tensor& pos,
                                                    const at::Tensor& neg);
  at::Tensor margin(const at::Tensor& x, const at::Tensor& pos, const at::Tensor& neg);

  // Σ_{w ∈ {a, b, c}} (log 2 − H(w)), scalar with grad (unweighted).
  at::Tensor entropy_penalty() const;

  // Detached mixture weights: "local/rbf", "local/polynomial", "global/spectral",
  // "global/mahalanobis", "top/local", "top/global" → scalars.
  std::map<std::string, at::Tensor> weights() const;

  // Forwards to the mahalanobis component (init = data).
  void init_from_data(const at::Tensor& embeddings) { mahalanobis_->init_from_data(embeddings); }

 private:
  Kernel rbf_{nullptr}, polynomial_{nullptr}, spectral_{nullptr}, mahalanobis_{nullptr};
  at::Tensor eta_local_, eta_global_, eta_top_;
};
TORCH_MODULE(Hmk);

}  // namespace dpok::objective
