// The decoder's building blocks other than attention: a bias-optional linear projection, RMSNorm
// and the SwiGLU MLP. Parameter names match Hugging Face ("weight", "bias", "gate_proj", ...).
//
// Parameters are allocated uninitialised (loading overwrites them without paying for a random
// init); CausalLMImpl initialises them when asked (init_weights in causal_lm.h).
//
// A projection can carry a LoRA adapter (PEFT's LoraLayer for nn.Linear; lora.h attaches them):
// y = x Wᵀ + b + scaling · dropout(x) Aᵀ Bᵀ while the model's AdapterSwitch is on, the frozen
// base projection alone while it is off. Its frozen weight can be kept quantized (QLoRA-style,
// quantized_linear.h); the float parameter is then released and no longer listed.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <string>
#include <vector>

#include "dpok/model/quantized_linear.h"

namespace dpok::model {

// Shared by a model and its adapters: whether the adapters take part in forwards (off: the frozen
// base model, which is how LoRA training gets its reference without a second copy).
struct AdapterSwitch {
  bool enabled = true;
};

// Registers a parameter-only child module `child` holding "weight" of `shape` (uninitialised), so
// a bare weight gets a Hugging Face name like "embed_tokens.weight" without an Embedding/Linear
// module's random initialisation. `holder` receives the child when given.
at::Tensor register_weight(torch::nn::Module& parent, const std::string& child,
                           std::vector<int64_t> shape, const at::TensorOptions& options,
                           std::shared_ptr<torch::nn::Module>* holder = nullptr);

// y = x Wᵀ (+ b). weight [out, in], bias [out]. x [..., in] → [..., out], same dtype as x.
class ProjectionImpl : public torch::nn::Module {
 public:
  ProjectionImpl(int64_t in_features, int64_t out_features, bool bias,
                 const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x);

  // Adds a LoRA adapter of rank `r` as PEFT initialises it: lora_A [r, in] kaiming-uniform
  // (a = √5, LibTorch's default generator), lora_B [out, r] zeros, registered as
  // "lora_A.weight" / "lora_B.weight" with gradients; weight and bias are frozen. Dropout (p =
  // `dropout`) applies to the adapter's input in training mode with gradients enabled.
  void add_lora(int64_t r, double scaling, double dropout,
                std::shared_ptr<const AdapterSwitch> adapters);
  bool has_lora() const { return lora_A.defined(); }
  double lora_scaling() const { return lora_scaling_; }

  // Replaces the float weight by `blocks` ([out, in] of this projection), frozen: the parameter
  // "weight" is unregistered and released, forwards dequantize on the fly (on the model's device
  // when the type allows: QuantizedWeight::to). Throws FormatError when the shape differs.
  void keep_quantized(QuantizedWeight blocks);
  bool is_quantized() const { return quantized_.defined(); }
  const QuantizedWeight& quantized() const { return quantized_; }
  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }

  at::Tensor weight, bias;    // weight undefined when quantized; bias undefined when absent
  at::Tensor lora_A, lora_B;  // undefined without an adapter

 private:
  int64_t in_features_, out_features_;
  at::TensorOptions options_;
  QuantizedWeight quantized_;
  double lora_scaling_ = 0.0, lora_dropout_ = 0.0;
  std::shared_ptr<const AdapterSwitch> adapters_;
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
