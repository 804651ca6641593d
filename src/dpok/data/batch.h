// Batches of preference pairs as tensors: padded [2B, T] batches and packed rows.
//
// What it does: collate() turns B records into one right-padded [2B, T] batch (rows 0..B-1 the
// chosen sequences, rows B..2B-1 the rejected ones, each prompt + completion) with attention,
// prompt and completion masks and the optional per-record columns; pack() places sequences
// end to end in fixed-length rows with per-sequence positions and boundaries (for varlen
// attention). All tensors are on the CPU; the trainer moves them.
// What it doesn't do: order or shuffle records (batch_iterator.h).
//
// Throws FormatError when the records disagree on optional columns (some carry reference
// log-probs or embeddings and others not, or embedding sizes differ), ConfigError when a
// sequence does not fit a packed row.
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

// Packed rows for varlen attention. The 2B sequences are numbered like PreferenceBatch rows
// (chosen of pair i = i, rejected of pair i = B + i) and placed first-fit in that order.
struct PackedBatch {
  at::Tensor input_ids;        // [R, L] int64, 0 after the last sequence of a row
  at::Tensor position_ids;     // [R, L] int64, restarting at 0 for each sequence (0 on padding)
  at::Tensor sequence_ids;     // [R, L] int64, the sequence number of each token, -1 on padding
  at::Tensor completion_mask;  // [R, L] bool, completion tokens
  // Per row: cumulative start offsets of its sequences and the end of the last one
  // (cu_seqlens style: {0, len0, len0 + len1, ...}).
  std::vector<std::vector<int64_t>> boundaries;
};

// Packs the records' 2B sequences into rows of `row_length` tokens. Throws ConfigError when one
// sequence is longer than a row.
PackedBatch pack(const std::vector<const PreferenceRecord*>& records, int64_t row_length);

}  // namespace dpok::data
