// The decoder's building blocks other than attention: a bias-optional linear projection, RMSNorm
// and the SwiGLU MLP. Parameter names match Hugging Face ("weight", "bias", "gate_proj", ...).
//
// Parameters are allocated uninitialised (loading overwrites them without paying for a random
// init); CausalLMImpl initialises them when asked (init_weights in causal_lm.h).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace dpok::model {

// y = x Wᵀ (+ b). weight [out, in], bias [out]. x [..., in] → [..., out], same dtype as x.
class ProjectionImpl : public torch::nn::Module {
 public:
  ProjectionImpl(int64_t in_features, int64_t out_features, bool bias,
                 const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x);

  at::Tensor weight, bias;  // bias undefined when absent
};
TORCH_MODULE(Projection);

// RMSNorm as transformers computes it: in fp32, cast back to the input dtype, then × weight.
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t size, double eps, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x);

  at::Tensor weight;  // [size]

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

// down_proj(silu(gate_proj(x)) * up_proj(x)). x [..., H] → [..., H].
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t hidden_size, int64_t intermediate_size, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x);

  Projection gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(Mlp);

}  // namespace dpok::model
