// Debiased Sinkhorn divergence (objective.md §6 wasserstein), log-domain, checkpointed backward.
#include "dpok/objective/wasserstein.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "dpok/core/error.h"
#include "dpok/objective/semantic.h"

namespace dpok::objective {
namespace {

// Rows recomputed together in backward. The recomputed graph keeps one Gibbs kernel
// [rows, m, m] per distinct ε (about iterations/2 + 1) plus [rows, m, 4] per iteration: ~110 MB
// in fp32 for 256 rows and m = 65.
constexpr int64_t kBackwardRows = 256;

// Largest ground cost (1 − cos ∈ [0, 2]): where the ε-scaling schedule starts.
constexpr double kCostDiameter = 2.0;

// ε-scaling (Feydy et al. 2019, geomloss): ε_t decays geometrically from the cost diameter to the
// target over the first half of the iterations and stays there, which converges far better than
// 50 iterations at a fixed small ε.
std::vector<double> epsilon_schedule(double epsilon, int64_t iterations) {
  std::vector<double> schedule(static_cast<size_t>(iterations), epsilon);
  const int64_t decay = iterations / 2;
  if (decay < 1 || epsilon >= kCostDiameter) return schedule;
  const double ratio = std::pow(epsilon / kCostDiameter, 1.0 / static_cast<double>(decay));
  for (int64_t t = 0; t < decay; ++t) {
    schedule[static_cast<size_t>(t)] = kCostDiameter * std::pow(ratio, static_cast<double>(t));
  }
  return schedule;
}

// Largest C/ε for which the Gibbs kernel exp(−C/ε) stays a normal number (fp32: e^−80 ≈ 1.8e-35;
// fp64: e^−700). Beyond it the transform falls back to a plain logsumexp.
double max_kernel_exponent(at::ScalarType dtype) {
  return dtype == at::kDouble ? 700.0 : 80.0;
}

// Soft c-transforms T(α)_i = −ε lse_j(α_j − C_ij/ε) of several potentials at once: alphas
// [n, m, s] → [n, m, s]. With K = exp(−C/ε) each is −ε(log Σ_j K_ij e^{α_j − max α} + max α):
// one batched [m, m] × [m, s] product for all s instead of s [n, m, m] logsumexps. Stable
// because K_ij ≥ e^{−diameter/ε} never underflows (see above) and the largest e^{α_j − max α} is
// 1. `kernel` undefined selects the logsumexp form.
at::Tensor soft_transforms(const at::Tensor& alphas, const at::Tensor& cost,
                           const at::Tensor& kernel, double epsilon) {
  if (!kernel.defined()) {
    return -epsilon * at::logsumexp(alphas.unsqueeze(1) - (cost / epsilon).unsqueeze(-1), 2);
  }
  const auto shift = std::get<0>(alphas.detach().max(1, /*keepdim=*/true));  // [n, 1, s]
  return -epsilon * (at::bmm(kernel, (alphas - shift).exp()).log() + shift);
}

// S_ε = OT_ε(a, b) − ½OT_ε(a, a) − ½OT_ε(b, b), each OT_ε = ⟨a, f⟩ + ⟨b, g⟩ after symmetric
// (averaged, simultaneous) log-domain updates f ← ½(f + T(log b + g/ε)), g ← ½(g + T(log a + f/ε)),
// the self terms with f = g; the four transforms of an iteration share one product. The cost is
// symmetric, so for a = b the (f, g) sequence of OT(a, b) coincides with that of OT(a, a) and
// S_ε(a, a) = 0.
at::Tensor debiased(const at::Tensor& log_a, const at::Tensor& log_b, const at::Tensor& cost,
                    double epsilon, int64_t iterations) {
  auto f = at::zeros_like(log_a), g = at::zeros_like(log_b);
  auto fa = at::zeros_like(log_a), fb = at::zeros_like(log_b);
  const double limit = max_kernel_exponent(cost.scalar_type());
  at::Tensor kernel;
  double kernel_eps = 0;
  for (const double eps : epsilon_schedule(epsilon, iterations)) {
    if (eps != kernel_eps) {  // constant over the second half of the schedule
      kernel = kCostDiameter / eps <= limit ? at::exp(cost * (-1.0 / eps)) : at::Tensor();
      kernel_eps = eps;
    }
    const auto alphas =
        at::stack({log_b + g / eps, log_a + f / eps, log_a + fa / eps, log_b + fb / eps}, -1);
    const auto t = soft_transforms(alphas, cost, kernel, eps);  // [n, m, 4]
    f = 0.5 * (f + t.select(-1, 0));
    g = 0.5 * (g + t.select(-1, 1));
    fa = 0.5 * (fa + t.select(-1, 2));
    fb = 0.5 * (fb + t.select(-1, 3));
  }
  const auto a = log_a.exp(), b = log_b.exp();
  const auto ab = (a * f).sum(-1) + (b * g).sum(-1);
  const auto aa = 2.0 * (a * fa).sum(-1), bb = 2.0 * (b * fb).sum(-1);
  return at::clamp_min(ab - 0.5 * aa - 0.5 * bb, 0.0);
}

// Forward without history; backward recomputes slices of rows with autograd (a checkpoint).
struct SinkhornFunction : public torch::autograd::Function<SinkhornFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& log_a,
                            const at::Tensor& log_b, const at::Tensor& cost, double epsilon,
                            int64_t iterations) {
    ctx->save_for_backward({log_a, log_b, cost});
    ctx->saved_data["epsilon"] = epsilon;
    ctx->saved_data["iterations"] = iterations;
    return debiased(log_a, log_b, cost, epsilon, iterations);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const double epsilon = ctx->saved_data["epsilon"].toDouble();
    const int64_t iterations = ctx->saved_data["iterations"].toInt();
    const auto& grad = grad_outputs[0];
    const int64_t n = saved[0].size(0);
    std::vector<at::Tensor> grad_a, grad_b;
    at::AutoGradMode enable_grad(true);
    for (int64_t start = 0; start < n; start += kBackwardRows) {
      const int64_t rows = std::min(kBackwardRows, n - start);
      auto la = saved[0].narrow(0, start, rows).detach().requires_grad_(true);
      auto lb = saved[1].narrow(0, start, rows).detach().requires_grad_(true);
      const auto value =
          debiased(la, lb, saved[2].narrow(0, start, rows).detach(), epsilon, iterations);
      const auto grads = torch::autograd::grad({value}, {la, lb}, {grad.narrow(0, start, rows)});
      grad_a.push_back(grads[0]);
      grad_b.push_back(grads[1]);
    }
    return {at::cat(grad_a), at::cat(grad_b), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

void check_shapes(const at::Tensor& log_a, const at::Tensor& log_b, const at::Tensor& cost) {
  DPOK_CHECK(log_a.dim() == 2 && log_a.sizes() == log_b.sizes() && cost.dim() == 3 &&
                 cost.size(0) == log_a.size(0) && cost.size(1) == log_a.size(1) &&
                 cost.size(2) == log_a.size(1),
             "sinkhorn shapes: log_a {}, log_b {}, cost {}", c10::str(log_a.sizes()),
             c10::str(log_b.sizes()), c10::str(cost.sizes()));
}

}  // namespace

at::Tensor sinkhorn_divergence(const at::Tensor& log_a, const at::Tensor& log_b,
                               const at::Tensor& cost, double epsilon, int64_t iterations) {
  check_shapes(log_a, log_b, cost);
  return SinkhornFunction::apply(log_a, log_b, cost.detach(), epsilon, iterations);
}

at::Tensor sinkhorn_divergence_reference(const at::Tensor& log_a, const at::Tensor& log_b,
                                         const at::Tensor& cost, double epsilon,
                                         int64_t iterations) {
  check_shapes(log_a, log_b, cost);
  return debiased(log_a, log_b, cost.detach(), epsilon, iterations);
}

at::Tensor cosine_cost_with_tail(const at::Tensor& ids, const at::Tensor& embeddings,
                                 at::ScalarType dtype) {
  at::NoGradGuard no_grad;
  const int64_t n = ids.size(0), u = ids.size(1);
  const auto rows = l2_normalize(embeddings.detach().index_select(0, ids.reshape({-1})).to(dtype))
                        .reshape({n, u, -1});            // [n, u, H]
  auto cosine = at::matmul(rows, rows.transpose(1, 2));  // [n, u, u]
  // Exactly symmetric (GEMM blocking need not be), which makes S_ε(a, a) exactly 0.
  cosine = 0.5 * (cosine + cosine.transpose(1, 2));
  auto cost = at::ones({n, u + 1, u + 1}, cosine.options());
  cost.narrow(1, 0, u).narrow(2, 0, u).copy_(at::clamp(1.0 - cosine, 0.0, 2.0));
  // Each support point (tokens and tail) costs nothing to keep in place.
  cost.diagonal(0, 1, 2).zero_();
  return cost;
}

}  // namespace dpok::objective
