// Batches of preference pairs as tensors: padded [2B, T] batches.
//
// What it does: collate() turns B records into one right-padded [2B, T] batch (rows 0..B-1 the
// chosen sequences, rows B..2B-1 the rejected ones, each prompt + completion) with attention,
// prompt and completion masks and the optional per-record columns. All tensors are on the CPU;
// the trainer moves them.
// What it doesn't do: order or shuffle records (batch_iterator.h), or pack sequences end to end.
//
// Throws FormatError when the records disagree on optional columns (some carry reference
// log-probs or embeddings and others not, or embedding sizes differ).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "dpok/data/record.h"

namespace dpok::data {

struct PreferenceBatch {
  at::Tensor input_ids;       // [2B, T] int64; right-padded with the pad id (0 when there is none)
  at::Tensor attention_mask;  // [2B, T] int64; 1 = token, 0 = padding
  // [2B, T] bool: token t is a completion token. The loss uses log p(x_t | x_<t), the logits
  // at position t-1, so shift the mask by one against the logits.
  at::Tensor completion_mask;
  at::Tensor prompt_mask;                           // [2B, T] bool: prompt tokens
  at::Tensor ref_chosen_logps, ref_rejected_logps;  // [B] fp32 when present, else undefined
  at::Tensor prompt_embedding, chosen_embedding, rejected_embedding;  // [B, d] fp32 when present
  at::Tensor labels;                                                  // [B] int64 when present
  // Pair i's record: its index in PreferenceDataset::records when the batch comes from a
  // BatchIterator, its source_index when it comes from collate() directly.
  std::vector<int64_t> record_indices;

  int64_t num_pairs() const { return static_cast<int64_t>(record_indices.size()); }
};

// Collates records into a batch; T is the longest sequence, rounded up to a multiple of
// `pad_to_multiple_of` when it is > 1 (TRL's pad_to_multiple_of). `record_indices` holds the
// records' source_index. `pad_id` < 0 pads with 0.
PreferenceBatch collate(const std::vector<const PreferenceRecord*>& records, int64_t pad_id,
                        int64_t pad_to_multiple_of);

}  // namespace dpok::data
