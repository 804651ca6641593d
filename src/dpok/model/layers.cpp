// Projection, RMSNorm and SwiGLU MLP (see layers.h).
#include "dpok/model/layers.h"

#include <torch/nn/init.h>

#include <cmath>

#include "dpok/core/error.h"

namespace dpok::model {

at::Tensor register_weight(torch::nn::Module& parent, const std::string& child,
                           std::vector<int64_t> shape, const at::TensorOptions& options,
                           std::shared_ptr<torch::nn::Module>* holder) {
  auto module = parent.register_module(child, std::make_shared<torch::nn::Module>(child));
  if (holder != nullptr) *holder = module;
  return module->register_parameter("weight", at::empty(shape, options));
}

ProjectionImpl::ProjectionImpl(int64_t in_features, int64_t out_features, bool with_bias,
                               const at::TensorOptions& options)
    : in_features_(in_features), out_features_(out_features), options_(options) {
  weight = register_parameter("weight", at::empty({out_features, in_features}, options));
  if (with_bias) bias = register_parameter("bias", at::empty({out_features}, options));
}

at::Tensor ProjectionImpl::forward(const at::Tensor& x) {
  auto y = is_quantized() ? quantized_linear(x, quantized_, bias) : at::linear(x, weight, bias);
  if (!has_lora() || !adapters_->enabled) return y;
  // PEFT's order: result + lora_B(lora_A(dropout(x))) * scaling.
  const bool drop = lora_dropout_ > 0 && is_training() && at::GradMode::is_enabled();
  const auto input = drop ? at::dropout(x, lora_dropout_, /*train=*/true) : x;
  return y + at::linear(at::linear(input, lora_A), lora_B) * lora_scaling_;
}

void ProjectionImpl::keep_quantized(QuantizedWeight blocks) {
  if (blocks.out_features != out_features_ || blocks.in_features != in_features_) {
    DPOK_THROW(FormatError, "model", "quantized weight [{}, {}] for a [{}, {}] projection",
               blocks.out_features, blocks.in_features, out_features_, in_features_);
  }
  // On a GPU the blocks go there when they decode by tensor operations (quantized_linear.h).
  quantized_ = options_.device().is_cpu() ? std::move(blocks) : blocks.to(options_.device());
  if (weight.defined()) {
    parameters_.erase("weight");
    weight = at::Tensor();
  }
  if (bias.defined()) bias.requires_grad_(false);
}

void ProjectionImpl::add_lora(int64_t r, double scaling, double dropout,
                              std::shared_ptr<const AdapterSwitch> adapters) {
  at::NoGradGuard no_grad;
  if (weight.defined()) weight.requires_grad_(false);
  if (bias.defined()) bias.requires_grad_(false);
  // The model's dtype and device: a bf16 compute copy gets bf16 adapters.
  const auto options = weight.defined() ? weight.options() : options_;
  lora_A = register_weight(*this, "lora_A", {r, in_features_}, options);
  lora_B = register_weight(*this, "lora_B", {out_features_, r}, options);
  torch::nn::init::kaiming_uniform_(lora_A, /*a=*/std::sqrt(5.0));
  lora_B.zero_();
  lora_scaling_ = scaling;
  lora_dropout_ = dropout;
  adapters_ = std::move(adapters);
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
