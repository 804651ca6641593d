// The Llama-family decoder (see causal_lm.h).
#include "dpok/model/causal_lm.h"

#include <ATen/CPUGeneratorImpl.h>

#include "dpok/core/error.h"
#include "dpok/model/checkpointing.h"
#include "dpok/model/packing.h"
#include "dpok/model/shape.h"

namespace dpok::model {
namespace {

constexpr const char* kComponent = "model";

}  // namespace

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& config, const at::TensorOptions& options) {
  self_attn = register_module("self_attn", Attention(config, options));
  mlp = register_module("mlp", Mlp(config.hidden_size, config.intermediate_size, options));
  input_layernorm =
      register_module("input_layernorm", RMSNorm(config.hidden_size, config.rms_norm_eps, options));
  post_attention_layernorm = register_module(
      "post_attention_layernorm", RMSNorm(config.hidden_size, config.rms_norm_eps, options));
}

at::Tensor DecoderLayerImpl::forward(const at::Tensor& x, const at::Tensor& cos,
                                     const at::Tensor& sin, const AttentionBias& bias,
                                     KVCache* cache, int64_t layer) {
  auto h = x + self_attn(input_layernorm(x), cos, sin, bias, cache, layer);
  auto update = mlp(post_attention_layernorm(h));
  // Without autograd, accumulate into h (a fresh tensor) rather than allocating another [B, T, H].
  return at::GradMode::is_enabled() ? h + update : h.add_(update);
}

DecoderImpl::DecoderImpl(const ModelConfig& config, const at::TensorOptions& options) {
  embed_tokens =
      register_weight(*this, "embed_tokens", {config.vocab_size, config.hidden_size}, options);
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layers->push_back(DecoderLayer(config, options));
  }
  norm = register_module("norm", RMSNorm(config.hidden_size, config.rms_norm_eps, options));
}

CausalLMImpl::CausalLMImpl(const ModelConfig& config, const at::TensorOptions& options,
                           bool initialize)
    : config_(config), rope_(config.rope, config.head_dim) {
  config_.validate("model config");
  auto opts = options.has_dtype() ? options : options.dtype(at::kFloat);
  model = register_module("model", Decoder(config_, opts));
  if (!config_.tie_word_embeddings) {
    lm_head = register_weight(*this, "lm_head", {config_.vocab_size, config_.hidden_size}, opts,
                              &lm_head_module_);
  }
  if (initialize) init_weights();
}

void CausalLMImpl::init_weights(uint64_t seed, double std) {
  at::NoGradGuard no_grad;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& item : named_parameters()) {
    auto& p = item.value();
    const std::string& name = item.key();
    const bool is_norm = name.find("norm.weight") != std::string::npos;
    if (is_norm) {
      p.fill_(1.0);
    } else if (p.dim() == 1) {
      p.zero_();
    } else {
      p.copy_(at::normal(0.0, std, p.sizes(), generator, at::TensorOptions(at::kFloat)));
    }
  }
}

void CausalLMImpl::check_ids(const at::Tensor& input_ids) const {
  if (input_ids.dim() != 2 || input_ids.scalar_type() != at::kLong) {
    DPOK_THROW(ConfigError, kComponent, "input_ids must be int64 [B, T], got {} {}",
               c10::toString(input_ids.scalar_type()), shape_str(input_ids.sizes()));
  }
  if (input_ids.numel() == 0) {
    DPOK_THROW(ConfigError, kComponent, "input_ids is empty ({})", shape_str(input_ids.sizes()));
  }
  if (input_ids.lt(0).logical_or(input_ids.ge(config_.vocab_size)).any().item<bool>()) {
    DPOK_THROW(ConfigError, kComponent, "input_ids holds ids outside [0, {}) (min {}, max {})",
               config_.vocab_size, input_ids.min().item<int64_t>(),
               input_ids.max().item<int64_t>());
  }
}

at::Tensor CausalLMImpl::run_layers(at::Tensor x, const at::Tensor& positions,
                                    const AttentionBias& bias, KVCache* cache) {
  if (config_.sliding_window && positions.numel() > 0 &&
      (cache ? cache->length() : 0) + x.size(1) > *config_.sliding_window) {
    DPOK_THROW(UnsupportedError, kComponent,
               "sequence of {} tokens exceeds the sliding window ({}), which dpok does not "
               "implement",
               (cache ? cache->length() : 0) + x.size(1), *config_.sliding_window);
  }
  auto [cos, sin] = rope_.cos_sin(positions, x.scalar_type());
  int64_t index = 0;
  for (const auto& module : *model->layers) {
    auto layer = std::dynamic_pointer_cast<DecoderLayerImpl>(module);
    if (gradient_checkpointing_ && cache == nullptr) {
      // Captured by value: the backward runs the layer again after this frame has returned.
      x = checkpointed(
          [layer, cos, sin, bias, index](const at::Tensor& in) {
            return layer->forward(in, cos, sin, bias, nullptr, index);
          },
          x);
    } else {
      x = layer->forward(x, cos, sin, bias, cache, index);
    }
    ++index;
  }
  return model->norm(x);
}

at::Tensor CausalLMImpl::forward_hidden(const at::Tensor& input_ids,
                                        const at::Tensor& attention_mask) {
  check_ids(input_ids);
  const auto t = input_ids.size(1);
  if (attention_mask.defined() && attention_mask.sizes() != input_ids.sizes()) {
    DPOK_THROW(ConfigError, kComponent, "attention_mask {} must have the shape of input_ids {}",
               shape_str(attention_mask.sizes()), shape_str(input_ids.sizes()));
  }
  const auto opts = options();
  auto ids = input_ids.to(opts.device());
  if (padding_free_) {
    last_fill_ratio_ = 1.0;  // a batch without padding is already full
    if (attention_mask.defined() && !attention_mask.to(at::kBool).all().item<bool>()) {
      return forward_packed(ids, attention_mask.to(opts.device()));
    }
  }
  auto bias = make_attention_bias(attention_mask, t, /*past=*/0, opts);
  auto positions = at::arange(t, opts.dtype(at::kLong));
  return run_layers(at::embedding(embedding_weight(), ids), positions, bias, nullptr);
}

at::Tensor CausalLMImpl::forward_packed(const at::Tensor& ids, const at::Tensor& attention_mask) {
  const auto packed = pack_rows(ids, attention_mask);
  last_fill_ratio_ = packed.fill_ratio();
  auto hidden = run_layers(at::embedding(embedding_weight(), packed.input_ids), packed.positions,
                           segment_attention_bias(packed.segments, options()), nullptr);
  return unpack_rows(hidden, packed, ids.size(0), ids.size(1));
}

CausalLMImpl::Output CausalLMImpl::forward(const at::Tensor& input_ids,
                                           const at::Tensor& attention_mask) {
  auto hidden = forward_hidden(input_ids, attention_mask);
  return {logits(hidden), hidden};
}

at::Tensor CausalLMImpl::forward_cached(const at::Tensor& input_ids, KVCache& cache) {
  check_ids(input_ids);
  if (input_ids.size(0) != cache.batch()) {
    DPOK_THROW(ConfigError, kComponent, "input_ids batch {} != cache batch {}", input_ids.size(0),
               cache.batch());
  }
  const auto opts = options();
  const auto t = input_ids.size(1), past = cache.length();
  auto bias = make_attention_bias(at::Tensor(), t, past, opts);
  auto positions = at::arange(past, past + t, opts.dtype(at::kLong));
  auto hidden = run_layers(at::embedding(embedding_weight(), input_ids.to(opts.device())),
                           positions, bias, &cache);
  cache.advance(t);
  return hidden;
}

at::Tensor CausalLMImpl::logits(const at::Tensor& hidden) const {
  return at::linear(hidden, lm_head_weight()).to(at::kFloat);
}

at::Tensor CausalLMImpl::lm_head_weight() const {
  if (lm_head_copy.defined() && adapters_->enabled) return lm_head_copy;
  return config_.tie_word_embeddings ? model->embed_tokens : lm_head;
}

at::Tensor CausalLMImpl::embedding_weight() const {
  if (embed_tokens_copy.defined() && adapters_->enabled) return embed_tokens_copy;
  return model->embed_tokens;
}

void CausalLMImpl::add_trained_copy(const std::string& name) {
  if (name != "lm_head" && name != "embed_tokens") {
    DPOK_THROW(ConfigError, kComponent,
               "modules_to_save: '{}' is not a module dpok can train a copy of (lm_head, "
               "embed_tokens)",
               name);
  }
  if (!copies_) copies_ = register_module("modules_to_save", std::make_shared<Module>());
  has_adapters_ = true;
  at::NoGradGuard no_grad;
  const bool head = name == "lm_head";
  const auto source =
      head ? (config_.tie_word_embeddings ? model->embed_tokens : lm_head) : model->embed_tokens;
  auto copy = copies_->register_parameter(name, source.detach().clone());
  (head ? lm_head_copy : embed_tokens_copy) = copy;
}

KVCache CausalLMImpl::make_cache(int64_t batch, int64_t capacity) const {
  return KVCache(config_, batch, capacity, options());
}

}  // namespace dpok::model
