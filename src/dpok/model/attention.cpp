// Self-attention and its mask (see attention.h).
#include "dpok/model/attention.h"

#include <limits>

#include "dpok/model/rope.h"

namespace dpok::model {
namespace {

// [B, kv_heads, S, D] → [B, kv_heads * groups, S, D], each KV head shared by `groups` queries.
at::Tensor repeat_kv(const at::Tensor& x, int64_t groups) {
  if (groups == 1) return x;
  const auto b = x.size(0), h = x.size(1), s = x.size(2), d = x.size(3);
  return x.unsqueeze(2).expand({b, h, groups, s, d}).reshape({b, h * groups, s, d});
}

}  // namespace

AttentionBias make_attention_bias(const at::Tensor& padding_mask, int64_t T, int64_t past,
                                  const at::TensorOptions& options) {
  const int64_t S = past + T;
  const bool padded = padding_mask.defined() && !padding_mask.to(at::kBool).all().item<bool>();
  if (!padded) {
    // Plain causal attention needs no mask tensor, which lets SDPA pick its fused kernels.
    if (past == 0) return {std::nullopt, true};
    if (T == 1 && past > 0) return {std::nullopt, false};  // one query sees every cached key
  }
  // Query i sits at position past + i and sees keys j <= past + i.
  auto keep = at::ones({T, S}, options.dtype(at::kBool)).tril(past).view({1, 1, T, S});
  if (padded) {
    keep = keep.logical_and(padding_mask.to(options.device(), at::kBool).view({-1, 1, 1, S}));
    auto blind = keep.any(-1, /*keepdim=*/true).logical_not();  // rows that see nothing
    auto first = at::zeros({S}, options.dtype(at::kBool));
    first.narrow(0, 0, 1).fill_(true);
    keep = keep.logical_or(blind.logical_and(first));
  }
  auto mask = at::zeros(keep.sizes(), options)
                  .masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
  return {mask, false};
}

AttentionImpl::AttentionImpl(const ModelConfig& config, const at::TensorOptions& options)
    : heads_(config.num_attention_heads),
      kv_heads_(config.num_key_value_heads),
      head_dim_(config.head_dim) {
  const int64_t hidden = config.hidden_size;
  const bool bias = config.attention_bias;
  q_proj = register_module("q_proj", Projection(hidden, heads_ * head_dim_, bias, options));
  k_proj = register_module("k_proj", Projection(hidden, kv_heads_ * head_dim_, bias, options));
  v_proj = register_module("v_proj", Projection(hidden, kv_heads_ * head_dim_, bias, options));
  o_proj = register_module(
      "o_proj", Projection(heads_ * head_dim_, hidden, config.attention_out_bias, options));
  if (config.qk_norm) {
    q_norm = register_module("q_norm", RMSNorm(head_dim_, config.rms_norm_eps, options));
    k_norm = register_module("k_norm", RMSNorm(head_dim_, config.rms_norm_eps, options));
  }
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                  const AttentionBias& bias, KVCache* cache, int64_t layer) {
  const auto b = x.size(0), t = x.size(1);
  auto q = q_proj(x).view({b, t, heads_, head_dim_});
  auto k = k_proj(x).view({b, t, kv_heads_, head_dim_});
  auto v = v_proj(x).view({b, t, kv_heads_, head_dim_}).transpose(1, 2);
  if (q_norm) {
    q = q_norm(q);
    k = k_norm(k);
  }
  q = apply_rotary(q.transpose(1, 2), cos, sin);
  k = apply_rotary(k.transpose(1, 2), cos, sin);
  if (cache != nullptr) std::tie(k, v) = cache->append(layer, k, v);
  const int64_t groups = heads_ / kv_heads_;
  auto out = at::scaled_dot_product_attention(q, repeat_kv(k, groups), repeat_kv(v, groups),
                                              bias.mask, /*dropout_p=*/0.0, bias.is_causal);
  return o_proj(out.transpose(1, 2).reshape({b, t, heads_ * head_dim_}));
}

}  // namespace dpok::model
