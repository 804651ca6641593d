// Key/value cache for incremental decoding: one pre-allocated buffer pair per layer.
//
// Buffers are [B, kv_heads, capacity, head_dim] in the model's dtype and device; each forward
// writes its new keys/values at [length, length + T) and attends over [0, length + T). The cache
// assumes every row has the same length (no padding inside the cache). Does not evict: a step
// that would exceed the capacity throws ConfigError.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "dpok/model/config.h"

namespace dpok::model {

class KVCache {
 public:
  // Allocates buffers for `batch` rows of up to `capacity` tokens.
  KVCache(const ModelConfig& config, int64_t batch, int64_t capacity,
          const at::TensorOptions& options);

  int64_t length() const { return length_; }
  int64_t capacity() const { return capacity_; }
  int64_t batch() const { return batch_; }

  // Writes k, v [B, kv_heads, T, D] of `layer` at the current length and returns the keys and
  // values of positions [0, length + T) as views. Throws ConfigError when the capacity is exceeded.
  std::pair<at::Tensor, at::Tensor> append(int64_t layer, const at::Tensor& k, const at::Tensor& v);

  // Marks `tokens` more positions as filled (called once per forward, after every layer).
  void advance(int64_t tokens);

  // Forgets every cached position (keeps the buffers).
  void reset() { length_ = 0; }

 private:
  std::vector<at::Tensor> keys_, values_;
  int64_t batch_, capacity_, length_ = 0;
};

}  // namespace dpok::model
