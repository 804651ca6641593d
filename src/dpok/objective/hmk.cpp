// Hierarchical mixture of kernels (objective.md §5).
#include "dpok/objective/hmk.h"

#include <cmath>

#include "dpok/core/error.h"

namespace dpok::objective {

at::Tensor hmk_log_kernel(const at::Tensor& log_k_rbf, const at::Tensor& log_k_polynomial,
                          const at::Tensor& log_k_spectral, const at::Tensor& log_k_mahalanobis,
                          const at::Tensor& eta_local, const at::Tensor& eta_global,
                          const at::Tensor& eta_top) {
  const auto log_a = at::log_softmax(eta_local, 0);
  const auto log_b = at::log_softmax(eta_global, 0);
  const auto log_c = at::log_softmax(eta_top, 0);
  // Effective log-weights of the four leaves, [4], in the order rbf, poly, spectral, mahalanobis.
  const auto log_w = at::cat({log_c.narrow(0, 0, 1) + log_a, log_c.narrow(0, 1, 1) + log_b});
  const auto stacked =
      at::stack({log_k_rbf, log_k_polynomial, log_k_spectral, log_k_mahalanobis}, -1);  // [N, 4]
  return at::logsumexp(stacked + log_w, -1);
}

at::Tensor mixture_entropy_gap(const at::Tensor& eta) {
  const auto log_w = at::log_softmax(eta, 0);
  const auto entropy = -(log_w.exp() * log_w).sum();
  return std::log(2.0) - entropy;
}

HmkImpl::HmkImpl(const KernelOptions& options, int64_t dim) {
  if (dim <= 0) {
    DPOK_THROW(ConfigError, "objective", "kernel 'hmk' needs the embedding dimension, got {}", dim);
  }
  KernelOptions learned = options;
  learned.learn = true;
  rbf_ = register_module("rbf", Kernel(KernelType::kRbf, learned, dim));
  polynomial_ = register_module("polynomial", Kernel(KernelType::kPolynomial, learned, dim));
  spectral_ = register_module("spectral", Kernel(KernelType::kSpectral, learned, dim));
  mahalanobis_ = register_module("mahalanobis", Kernel(KernelType::kMahalanobis, learned, dim));
  eta_local_ = register_parameter("eta_local", at::zeros({2}, at::kFloat));
  eta_global_ = register_parameter("eta_global", at::zeros({2}, at::kFloat));
  eta_top_ = register_parameter("eta_top", at::zeros({2}, at::kFloat));
}

std::pair<at::Tensor, at::Tensor> HmkImpl::log_kernel_pair(const at::Tensor& x,
                                                           const at::Tensor& pos,
                                                           const at::Tensor& neg) {
  const auto [rbf_pos, rbf_neg] = rbf_->log_kernel_pair(x, pos, neg);
  const auto [poly_pos, poly_neg] = polynomial_->log_kernel_pair(x, pos, neg);
  const auto [spec_pos, spec_neg] = spectral_->log_kernel_pair(x, pos, neg);
  const auto [maha_pos, maha_neg] = mahalanobis_->log_kernel_pair(x, pos, neg);
  return {hmk_log_kernel(rbf_pos, poly_pos, spec_pos, maha_pos, eta_local_, eta_global_, eta_top_),
          hmk_log_kernel(rbf_neg, poly_neg, spec_neg, maha_neg, eta_local_, eta_global_, eta_top_)};
}

at::Tensor HmkImpl::margin(const at::Tensor& x, const at::Tensor& pos, const at::Tensor& neg) {
  const auto [chosen, rejected] = log_kernel_pair(x, pos, neg);
  return chosen - rejected;
}

at::Tensor HmkImpl::entropy_penalty() const {
  return mixture_entropy_gap(eta_local_) + mixture_entropy_gap(eta_global_) +
         mixture_entropy_gap(eta_top_);
}

std::map<std::string, at::Tensor> HmkImpl::weights() const {
  const auto a = at::softmax(eta_local_.detach(), 0);
  const auto b = at::softmax(eta_global_.detach(), 0);
  const auto c = at::softmax(eta_top_.detach(), 0);
  return {{"local/rbf", a[0]},          {"local/polynomial", a[1]}, {"global/spectral", b[0]},
          {"global/mahalanobis", b[1]}, {"top/local", c[0]},        {"top/global", c[1]}};
}

}  // namespace dpok::objective
