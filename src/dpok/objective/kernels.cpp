// Kernels of objective.md §4, evaluated in log form.
#include "dpok/objective/kernels.h"

#include <ATen/ATen.h>

#include <cmath>
#include <vector>

#include "dpok/core/error.h"
#include "dpok/objective/semantic.h"

namespace dpok::objective {
namespace {

constexpr const char* kComponent = "objective";

at::Tensor squared_distance(const at::Tensor& u, const at::Tensor& v) {
  return (u - v).square().sum(-1);
}

at::Tensor row_dot(const at::Tensor& u, const at::Tensor& v) {
  return (u * v).sum(-1);
}

}  // namespace

at::Tensor linear_log_kernel(const at::Tensor& u, const at::Tensor& v, const at::Tensor& tau) {
  return row_dot(u, v) / tau;
}

at::Tensor rbf_log_kernel(const at::Tensor& u, const at::Tensor& v, const at::Tensor& sigma) {
  return -squared_distance(u, v) / (2.0 * sigma.square());
}

at::Tensor polynomial_log_kernel(const at::Tensor& u, const at::Tensor& v, const at::Tensor& c,
                                 const at::Tensor& p) {
  return p * at::log(at::clamp_min(row_dot(u, v) + c, kPolynomialBaseFloor));
}

at::Tensor spectral_log_kernel(const at::Tensor& u, const at::Tensor& v,
                               const at::Tensor& log_weights, const at::Tensor& frequencies) {
  const auto d2 = squared_distance(u, v).unsqueeze(-1);  // [N, 1]
  return at::logsumexp(log_weights - frequencies * d2, /*dim=*/-1);
}

at::Tensor mahalanobis_log_kernel(const at::Tensor& u, const at::Tensor& v,
                                  const at::Tensor& factor, double epsilon) {
  const auto d = u - v;  // [N, d]
  return -0.5 * (at::matmul(d, factor).square().sum(-1) + epsilon * d.square().sum(-1));
}

double inverse_softplus(double value) {
  DPOK_CHECK(value > 0, "inverse_softplus needs a positive value, got {}", value);
  return value + std::log(-std::expm1(-value));
}

KernelImpl::KernelImpl(KernelType type, const KernelOptions& options, int64_t dim)
    : type_(type), options_(options) {
  switch (type) {
    case KernelType::kLinear:
      tau_ = add_positive("tau", options.tau);
      break;
    case KernelType::kRbf:
      // With the median heuristic the stored value is a scale on the batch median (starts at 1).
      sigma_ = add_positive(options.sigma_median ? "sigma_scale" : "sigma",
                            options.sigma_median ? 1.0 : options.sigma);
      break;
    case KernelType::kPolynomial:
      c_ = add_positive("c", options.learn ? std::max(options.c, kPolynomialBaseFloor) : options.c);
      p_ = add_positive("p", options.p);
      break;
    case KernelType::kSpectral: {
      sigma_ = add_positive(options.sigma_median ? "sigma_scale" : "sigma",
                            options.sigma_median ? 1.0 : options.sigma);
      const auto k = static_cast<int64_t>(options.spectral_frequencies.size());
      std::vector<double> log_w(k, -std::log(static_cast<double>(k)));
      if (!options.spectral_weights.empty()) {
        double total = 0;
        for (double w : options.spectral_weights) total += w;
        for (int64_t i = 0; i < k; ++i) log_w[i] = std::log(options.spectral_weights[i] / total);
      }
      std::vector<double> freq = options.spectral_frequencies;
      if (options.learn) {
        for (double& f : freq) f = inverse_softplus(f);
      }
      const auto logits = at::tensor(log_w, at::kFloat);
      const auto frequencies = at::tensor(freq, at::kFloat);
      spectral_logits_ = options.learn ? register_parameter("spectral_logits", logits)
                                       : register_buffer("spectral_log_weights", logits);
      frequencies_ = options.learn ? register_parameter("raw_spectral_frequencies", frequencies)
                                   : register_buffer("spectral_frequencies", frequencies);
      break;
    }
    case KernelType::kMahalanobis: {
      if (dim <= 0) {
        DPOK_THROW(ConfigError, kComponent,
                   "kernel 'mahalanobis' needs the embedding dimension, got {}", dim);
      }
      const int64_t rank = options.mahalanobis_rank == 0 ? dim : options.mahalanobis_rank;
      if (rank > dim) {
        DPOK_THROW(ConfigError, kComponent,
                   "kernel_options.mahalanobis_rank = {} exceeds the embedding dimension {}", rank,
                   dim);
      }
      // Identity init: L = first r columns of I, so M = diag(1..1, 0..0) + εI (exactly I + εI at
      // full rank).
      const auto eye = at::eye(dim, rank, at::kFloat);
      factor_ = options.learn ? register_parameter("mahalanobis_factor", eye)
                              : register_buffer("mahalanobis_factor", eye);
      break;
    }
    case KernelType::kHmk:
      DPOK_THROW(ConfigError, kComponent, "kernel 'hmk' is a mixture; construct it with Hmk");
  }
}

at::Tensor KernelImpl::add_positive(const std::string& name, double value) {
  if (options_.learn) {
    return register_parameter("raw_" + name,
                              at::scalar_tensor(inverse_softplus(value), at::kFloat));
  }
  return register_buffer(name, at::scalar_tensor(value, at::kFloat));
}

at::Tensor KernelImpl::positive(const at::Tensor& stored) const {
  return options_.learn ? at::softplus(stored) : stored;
}

at::Tensor KernelImpl::spectral_log_weights() const {
  return at::log_softmax(spectral_logits_, /*dim=*/0);
}

at::Tensor KernelImpl::bandwidth(const at::Tensor& x, const at::Tensor& pos,
                                 const at::Tensor& neg) const {
  const auto value = positive(sigma_);
  if (!options_.sigma_median) return value;
  const auto median = median_heuristic_sigma(at::cat({x, x}), at::cat({pos, neg}));
  return median * value;
}

at::Tensor KernelImpl::log_kernel_with(const at::Tensor& u, const at::Tensor& v,
                                       const at::Tensor& sigma) const {
  switch (type_) {
    case KernelType::kLinear:
      return linear_log_kernel(u, v, tau());
    case KernelType::kRbf:
      return rbf_log_kernel(u, v, sigma);
    case KernelType::kPolynomial:
      return polynomial_log_kernel(u, v, c(), p());
    case KernelType::kSpectral:
      return spectral_log_kernel(u, v, spectral_log_weights(),
                                 positive(frequencies_) / sigma.square());
    case KernelType::kMahalanobis:
      return mahalanobis_log_kernel(u, v, factor_, options_.mahalanobis_epsilon);
    case KernelType::kHmk:
      break;
  }
  DPOK_CHECK(false, "KernelImpl cannot evaluate kernel type {}", static_cast<int>(type_));
  return {};
}

std::pair<at::Tensor, at::Tensor> KernelImpl::log_kernel_pair(const at::Tensor& x,
                                                              const at::Tensor& pos,
                                                              const at::Tensor& neg) {
  if (x.dim() != 2 || x.sizes() != pos.sizes() || x.sizes() != neg.sizes()) {
    DPOK_THROW(ConfigError, kComponent,
               "kernel embeddings must all be [B, d]; got prompt {}, chosen {}, rejected {}",
               c10::str(x.sizes()), c10::str(pos.sizes()), c10::str(neg.sizes()));
  }
  if (factor_.defined() && x.size(1) != factor_.size(0)) {
    DPOK_THROW(ConfigError, kComponent,
               "mahalanobis kernel was built for dimension {} but embeddings have {}",
               factor_.size(0), x.size(1));
  }
  const bool uses_sigma = type_ == KernelType::kRbf || type_ == KernelType::kSpectral;
  const auto sigma = uses_sigma ? bandwidth(x, pos, neg) : at::Tensor();
  return {log_kernel_with(x, pos, sigma), log_kernel_with(x, neg, sigma)};
}

at::Tensor KernelImpl::margin(const at::Tensor& x, const at::Tensor& pos, const at::Tensor& neg) {
  const auto [chosen, rejected] = log_kernel_pair(x, pos, neg);
  return chosen - rejected;
}

void KernelImpl::init_from_data(const at::Tensor& embeddings) {
  if (type_ != KernelType::kMahalanobis) {
    DPOK_THROW(ConfigError, kComponent, "init = data applies to the mahalanobis kernel, not '{}'",
               to_string(type_));
  }
  const int64_t dim = factor_.size(0), rank = factor_.size(1);
  if (embeddings.dim() != 2 || embeddings.size(1) != dim || embeddings.size(0) < 2) {
    DPOK_THROW(ConfigError, kComponent,
               "mahalanobis init = data needs embeddings [N >= 2, {}], got {}", dim,
               c10::str(embeddings.sizes()));
  }
  at::NoGradGuard no_grad;
  const auto e = embeddings.detach().to(at::kDouble);
  const auto centered = e - e.mean(0, /*keepdim=*/true);
  auto cov = at::matmul(centered.t(), centered) / static_cast<double>(e.size(0) - 1);
  // Shrinkage keeps Σ invertible when N < d or the embeddings are normalised (rank-deficient).
  const auto shrink = (cov.trace() * (1e-3 / static_cast<double>(dim))).clamp_min(1e-12);
  cov = cov + shrink * at::eye(dim, cov.options());
  at::Tensor factor;
  if (rank == dim) {
    const auto chol = at::linalg_cholesky(cov);  // Σ = C Cᵀ
    const auto inv =
        at::linalg_solve_triangular(chol, at::eye(dim, cov.options()), /*upper=*/false);
    factor = inv.t();  // L = C⁻ᵀ: L Lᵀ = C⁻ᵀ C⁻¹ = Σ⁻¹
  } else {
    const auto [eigenvalues, eigenvectors] = at::linalg_eigh(cov);  // ascending
    const auto top_values = eigenvalues.narrow(0, dim - rank, rank);
    const auto top_vectors = eigenvectors.narrow(1, dim - rank, rank);
    factor = top_vectors * top_values.rsqrt().unsqueeze(0);
  }
  factor_.copy_(factor.to(factor_.scalar_type()));
}

}  // namespace dpok::objective
