// Test support for the objective: a central-difference gradient checker (LibTorch 1.13's C++ API
// has no gradcheck) and small fp64 helpers shared by the objective tests.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace dpok::objective::testing {

// Checks the autograd gradient of s = Σ w ⊙ f() w.r.t. each leaf against central differences,
// with fixed non-uniform weights w so every output element matters. `leaves` must be fp64 leaf
// tensors with requires_grad (inputs or module parameters); f() reads them on every call.
// Tolerance: |analytic − numeric| ≤ tol · (1 + |numeric|).
inline void expect_gradients_match(const std::function<at::Tensor()>& f,
                                   const std::vector<at::Tensor>& leaves, double tol = 1e-6,
                                   double step = 1e-6, const std::string& what = "") {
  const auto out = f();
  ASSERT_EQ(out.scalar_type(), at::kDouble) << what << ": gradient checks run in fp64";
  const auto weights =
      at::linspace(0.5, 1.5, std::max<int64_t>(out.numel(), 1), at::kDouble).reshape(out.sizes());
  const auto grads = torch::autograd::grad({(out * weights).sum()}, leaves, /*grad_outputs=*/{},
                                           /*retain_graph=*/false, /*create_graph=*/false,
                                           /*allow_unused=*/true);
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < leaves.size(); ++i) {
    auto flat = leaves[i].detach().view({-1});
    const auto analytic = grads[i].defined() ? grads[i].reshape({-1}) : at::zeros_like(flat);
    for (int64_t j = 0; j < flat.numel(); ++j) {
      const double original = flat[j].item<double>();
      flat[j] = original + step;
      const double plus = (f() * weights).sum().item<double>();
      flat[j] = original - step;
      const double minus = (f() * weights).sum().item<double>();
      flat[j] = original;
      const double numeric = (plus - minus) / (2 * step);
      const double got = analytic[j].item<double>();
      ASSERT_NEAR(got, numeric, tol * (1 + std::abs(numeric)))
          << what << ": leaf " << i << " element " << j;
    }
  }
}

// A fresh leaf copy of `t` (same dtype) with requires_grad.
inline at::Tensor with_grad(const at::Tensor& t) {
  at::Tensor copy = t.detach().clone();
  copy.requires_grad_(true);
  return copy;
}

// A fresh fp64 leaf with requires_grad.
inline at::Tensor leaf(const at::Tensor& t) {
  return with_grad(t.to(at::kDouble));
}

// True when every element is finite (no NaN, no ±inf).
inline bool all_finite(const at::Tensor& t) {
  return at::isfinite(t).all().item<bool>();
}

}  // namespace dpok::objective::testing
