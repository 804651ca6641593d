// Padding-free forwards (TRL's padding_free): the sequences of a right-padded batch packed end to
// end into fewer rows, each sequence with its own positions (0, 1, ...) and attending only to
// itself (a block-diagonal causal mask), and the hidden states scattered back to the padded
// layout afterwards, so everything downstream (log-probs, embeddings, the token penalty) sees the
// batch it would have seen without packing.
//
// Rows are as long as the batch's longest sequence; sequences go longest first into the first row
// with room (first-fit decreasing), so no sequence is ever split and every row stays within the
// length the padded batch already had. With length-grouped batches (group_by_length) the rows
// come out nearly full. The work saved is the padded tokens' share of every decoder layer.
//
// Does: the packing plan, the packed inputs, the segment mask, the scatter back. Does not: run
// the model (CausalLMImpl::forward_hidden does, when padding_free is set).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

#include "dpok/model/attention.h"

namespace dpok::model {

struct PackedRows {
  at::Tensor input_ids;     // [R, L] int64; 0 after a row's last sequence
  at::Tensor positions;     // [R, L] int64: each sequence counts from 0; 0 after the last one
  at::Tensor segments;      // [R, L] int64: the sequence's slot in its row (0, 1, ...), -1 after
  at::Tensor packed_index;  // [N] int64: flat [R·L] index of every real token ...
  at::Tensor padded_index;  // [N] int64: ... and its flat [B·T] index in the padded batch
  int64_t rows = 0, row_length = 0;
  int64_t tokens = 0;  // N, the real tokens

  // Real tokens over the rows' capacity, in (0, 1].
  double fill_ratio() const {
    return rows == 0 ? 1.0 : static_cast<double>(tokens) / static_cast<double>(rows * row_length);
  }
};

// Packs the rows of input_ids [B, T] whose tokens are attention_mask's leading ones (right
// padding; a row without tokens is left out). Tensors on input_ids' device.
PackedRows pack_rows(const at::Tensor& input_ids, const at::Tensor& attention_mask);

// The additive mask [R, 1, L, L] (0 keeps, -inf drops) in `options`' dtype: a token sees the
// tokens of its own sequence up to itself; an empty slot after the last sequence sees itself only.
AttentionBias segment_attention_bias(const at::Tensor& segments, const at::TensorOptions& options);

// Packed hidden states [R, L, H] → the padded layout [B, T, H]; padding positions hold zeros.
// Differentiable (a gather and a scatter).
at::Tensor unpack_rows(const at::Tensor& packed_hidden, const PackedRows& rows, int64_t batch,
                       int64_t length);

}  // namespace dpok::model
