// Pre-allocated per-layer key/value buffers (see kv_cache.h).
#include "dpok/model/kv_cache.h"

#include "dpok/core/error.h"

namespace dpok::model {

KVCache::KVCache(const ModelConfig& config, int64_t batch, int64_t capacity,
                 const at::TensorOptions& options)
    : batch_(batch), capacity_(capacity) {
  if (batch <= 0 || capacity <= 0) {
    DPOK_THROW(ConfigError, "model.kv_cache", "batch ({}) and capacity ({}) must be > 0", batch,
               capacity);
  }
  const std::vector<int64_t> shape = {batch, config.num_key_value_heads, capacity, config.head_dim};
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    keys_.push_back(at::empty(shape, options));
    values_.push_back(at::empty(shape, options));
  }
}

std::pair<at::Tensor, at::Tensor> KVCache::append(int64_t layer, const at::Tensor& k,
                                                  const at::Tensor& v) {
  DPOK_CHECK(layer >= 0 && layer < static_cast<int64_t>(keys_.size()), "layer {} out of range",
             layer);
  DPOK_CHECK(k.size(0) == batch_, "cache batch {} != input batch {}", batch_, k.size(0));
  const int64_t tokens = k.size(2);
  if (length_ + tokens > capacity_) {
    DPOK_THROW(ConfigError, "model.kv_cache",
               "sequence of {} tokens exceeds the cache capacity of {} tokens", length_ + tokens,
               capacity_);
  }
  keys_[layer].narrow(2, length_, tokens).copy_(k);
  values_[layer].narrow(2, length_, tokens).copy_(v);
  return {keys_[layer].narrow(2, 0, length_ + tokens),
          values_[layer].narrow(2, 0, length_ + tokens)};
}

void KVCache::advance(int64_t tokens) {
  DPOK_CHECK(length_ + tokens <= capacity_, "advance past capacity");
  length_ += tokens;
}

}  // namespace dpok::model
