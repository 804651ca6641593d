// Projection, RMSNorm and SwiGLU MLP (see layers.h).
#include "dpok/model/layers.h"

namespace dpok::model {

ProjectionImpl::ProjectionImpl(int64_t in_features, int64_t out_features, bool with_bias,
                               const at::TensorOptions& options) {
  weight = register_parameter("weight", at::empty({out_features, in_features}, options));
  if (with_bias) bias = register_parameter("bias", at::empty({out_features}, options));
}

at::Tensor ProjectionImpl::forward(const at::Tensor& x) {
  return at::linear(x, weight, bias);
}

RMSNormImpl::RMSNormImpl(int64_t size, double eps, const at::TensorOptions& options) : eps_(eps) {
  weight = register_parameter("weight", at::ones({size}, options));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
  auto x32 = x.to(at::kFloat);
  auto variance = x32.pow(2).mean(-1, /*keepdim=*/true);
  return weight * (x32 * at::rsqrt(variance + eps_)).to(x.scalar_type());
}

MlpImpl::MlpImpl(int64_t hidden_size, int64_t intermediate_size, const at::TensorOptions& options) {
  gate_proj =
      register_module("gate_proj", Projection(hidden_size, intermediate_size, false, options));
  up_proj = register_module("up_proj", Projection(hidden_size, intermediate_size, false, options));
  down_proj =
      register_module("down_proj", Projection(intermediate_size, hidden_size, false, options));
}

at::Tensor MlpImpl::forward(const at::Tensor& x) {
  if (at::GradMode::is_enabled()) return down_proj(at::silu(gate_proj(x)) * up_proj(x));
  // Inference: reuse the gate buffer instead of allocating two more [B, T, I] tensors.
  auto gate = gate_proj(x);
  return down_proj(at::silu_(gate).mul_(up_proj(x)));
}

}  // namespace dpok::model
