// The Llama-family causal language model (Llama 2/3, Mistral, Qwen2, Qwen3, SmolLM, TinyLlama):
// embeddings → N × (RMSNorm → attention → residual → RMSNorm → SwiGLU → residual) → RMSNorm →
// lm_head. Family differences come from ModelConfig (architecture.h), not from code paths here.
//
// Parameter names are Hugging Face's (model.embed_tokens.weight, model.layers.N.self_attn.q_proj
// .weight, ..., model.norm.weight, lm_head.weight, absent when tied), so named_parameters()
// matches safetensors keys. Loading and saving live in loader.h and save.h; generation in
// generate.h. Shapes: B batch, T tokens, H hidden size, V vocabulary.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <memory>

#include "dpok/model/attention.h"
#include "dpok/model/config.h"
#include "dpok/model/kv_cache.h"
#include "dpok/model/layers.h"
#include "dpok/model/rope.h"

namespace dpok::model {

class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(const ModelConfig& config, const at::TensorOptions& options);
  // x [B, T, H] → [B, T, H].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                     const AttentionBias& bias, KVCache* cache, int64_t layer);

  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  Attention self_attn{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(DecoderLayer);

// The "model." submodule: embeddings, layers, final norm.
class DecoderImpl : public torch::nn::Module {
 public:
  DecoderImpl(const ModelConfig& config, const at::TensorOptions& options);

  at::Tensor embed_tokens;  // registered as "embed_tokens.weight" through a child module
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
};
TORCH_MODULE(Decoder);

class CausalLMImpl : public torch::nn::Module {
 public:
  // Allocates the parameters in `options` (dtype, device). With `initialize` they are set like
  // transformers' _init_weights (normal(0, 0.02) matrices, zero biases, unit norms); without, they
  // are left uninitialised for a loader to overwrite.
  explicit CausalLMImpl(const ModelConfig& config, const at::TensorOptions& options = {},
                        bool initialize = true);

  // input_ids [B, T] int64; attention_mask [B, T] int64/bool, 1 = token, 0 = right padding
  // (optional). Returns the final hidden states [B, T, H] after the final norm, in the model's
  // dtype (no logits: the lean mode training uses). Positions are 0..T-1 for every row.
  // Throws ConfigError on ids outside [0, V) or shape mismatches.
  at::Tensor forward_hidden(const at::Tensor& input_ids, const at::Tensor& attention_mask = {});

  struct Output {
    at::Tensor logits;  // [B, T, V] fp32
    at::Tensor hidden;  // [B, T, H] model dtype
  };
  Output forward(const at::Tensor& input_ids, const at::Tensor& attention_mask = {});

  // Incremental decoding: input_ids [B, T] continue the sequences held in `cache` (positions
  // cache.length() .. +T, no padding). Returns hidden states [B, T, H] of the new tokens and
  // advances the cache by T.
  at::Tensor forward_cached(const at::Tensor& input_ids, KVCache& cache);

  // hidden [..., H] → logits [..., V] fp32 (lm_head in the model's dtype, then upcast).
  at::Tensor logits(const at::Tensor& hidden) const;

  // [V, H]; the embedding matrix when the embeddings are tied. With adapters on, PEFT's trained
  // copy (modules_to_save) when the model has one.
  at::Tensor lm_head_weight() const;
  // [V, H] the input embeddings forwards use: the trained copy while adapters are on and the
  // model has one, else model->embed_tokens.
  at::Tensor embedding_weight() const;
  const ModelConfig& config() const { return config_; }
  // The dtype and device of the parameters.
  at::TensorOptions options() const { return model->embed_tokens.options(); }

  // A fresh cache sized for `batch` rows of `capacity` tokens, in the model's dtype and device.
  KVCache make_cache(int64_t batch, int64_t capacity) const;

  // Re-initialises every parameter as transformers does (std = 0.02), from `seed`.
  void init_weights(uint64_t seed = 0, double std = 0.02);

  // Padding-free forwards (TRL's padding_free; packing.h): forward_hidden packs a padded batch's
  // sequences into fewer rows and returns the hidden states in the padded layout, equal to the
  // padded forward's at every real token. last_fill_ratio(): the real tokens' share of the packed
  // rows in the latest such forward (1 before any).
  void set_padding_free(bool on) { padding_free_ = on; }
  bool padding_free() const { return padding_free_; }
  double last_fill_ratio() const { return last_fill_ratio_; }

  // gradient_checkpointing: each decoder layer's activations are recomputed in the backward
  // (checkpointing.h) instead of kept from the forward. Same values and gradients.
  void set_gradient_checkpointing(bool on) { gradient_checkpointing_ = on; }

  // LoRA (lora.h attaches adapters to projections and makes these copies). The switch is shared
  // with every adapter; off, the model computes exactly the frozen base model.
  bool has_adapters() const { return has_adapters_; }
  bool adapters_enabled() const { return adapters_->enabled; }
  void set_adapters_enabled(bool enabled) { adapters_->enabled = enabled; }
  // Marks the model as carrying adapters and returns the switch they share.
  std::shared_ptr<const AdapterSwitch> attach_adapter() {
    has_adapters_ = true;
    return adapters_;
  }
  // PEFT's modules_to_save: a trainable copy of "lm_head" or "embed_tokens" (of the tied
  // embedding matrix for a tied lm_head, as PEFT copies it), registered as
  // "modules_to_save.<name>". Throws ConfigError for another name.
  void add_trained_copy(const std::string& name);

  Decoder model{nullptr};
  at::Tensor lm_head;  // registered as "lm_head.weight"; undefined when tied
  at::Tensor lm_head_copy, embed_tokens_copy;  // modules_to_save; undefined when absent

 private:
  at::Tensor run_layers(at::Tensor x, const at::Tensor& positions, const AttentionBias& bias,
                        KVCache* cache);
  void check_ids(const at::Tensor& input_ids) const;

  at::Tensor forward_packed(const at::Tensor& ids, const at::Tensor& attention_mask);

  ModelConfig config_;
  RotaryEmbedding rope_;
  bool padding_free_ = false, gradient_checkpointing_ = false;
  double last_fill_ratio_ = 1.0;
  std::shared_ptr<torch::nn::Module> lm_head_module_, copies_;
  std::shared_ptr<AdapterSwitch> adapters_ = std::make_shared<AdapterSwitch>();
  bool has_adapters_ = false;
};

// Turns a model's adapters off for a scope (the frozen base model: LoRA's reference) and back to
// what they were. A model without adapters is unaffected.
class AdaptersDisabled {
 public:
  explicit AdaptersDisabled(CausalLMImpl& model)
      : model_(model), was_enabled_(model.adapters_enabled()) {
    model_.set_adapters_enabled(false);
  }
  ~AdaptersDisabled() { model_.set_adapters_enabled(was_enabled_); }
  AdaptersDisabled(const AdaptersDisabled&) = delete;
  AdaptersDisabled& operator=(const AdaptersDisabled&) = delete;

 private:
  CausalLMImpl& model_;
  bool was_enabled_;
};
TORCH_MODULE(CausalLM);

}  // namespace dpok::model
