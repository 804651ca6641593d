// Reference log-probabilities computed once and kept on disk (TRL's precompute_ref_log_probs).
//
// The cache key hashes (FNV-1a, 64 bit) everything the values depend on: every record's token ids
// (which already reflect the data files, the tokenizer, the chat template and the max_length /
// truncation settings), max_length, and the bytes and names of every reference parameter. A run
// with the same key reuses the file; any change computes and stores a new one.
// File <cache_dir>/ref-<key>.bin, written atomically: the cache header of io/cache_file.h (magic
// "DPOKREFS", kReferenceCacheVersion, the key, the payload checksum), then the payload: u64 N,
// then N × (chosen, rejected) fp32, little-endian.
//
// Datasets may also carry the values themselves (TRL's precomputed datasets: per-record
// ref_chosen_logps / ref_rejected_logps); dataset_reference_logps turns them into the same table.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "dpok/data/record.h"
#include "dpok/model/causal_lm.h"

namespace dpok::dist {
class Group;
}

namespace dpok::train {

// Layout version of ref-*.bin and reftopk-*.bin (ref_topk.h). It is hashed into the cache key, so
// files of an older layout are rebuilt, never opened. 2: the shared io/cache_file.h header.
inline constexpr uint32_t kReferenceCacheVersion = 2;

// [N, 2] fp32 on the CPU: (ℓ_ref(chosen), ℓ_ref(rejected)) per record of `dataset`, computed in
// dataset order in batches of `batch_size` pairs under NoGradGuard on the reference's device.
// With `group` of several ranks, rank r computes the batches b with b mod world_size = r and the
// table is summed over ranks: every rank gets the whole table, equal to one process's.
torch::Tensor compute_reference_logps(model::CausalLM& reference,
                                      const data::PreferenceDataset& dataset, int64_t batch_size,
                                      int64_t pad_id, int64_t chunk_rows,
                                      dist::Group* group = nullptr);

// Hex key of (dataset token ids, max_length, reference parameters).
std::string reference_cache_key(const data::PreferenceDataset& dataset, model::CausalLM& reference,
                                int64_t max_length);

// The cached table for `key` when <cache_dir>/ref-<key>.bin exists and holds `num_records` rows,
// else an undefined tensor. Throws FormatError naming the file when it is corrupt (bad header or
// checksum, io/cache_file.h) or holds another number of rows.
torch::Tensor load_reference_cache(const std::filesystem::path& cache_dir, const std::string& key,
                                   int64_t num_records);

// Stores a [N, 2] fp32 table atomically. Throws IoError naming the file.
void store_reference_cache(const std::filesystem::path& cache_dir, const std::string& key,
                           const torch::Tensor& table);

// [N, 2] fp32 table from the records' own ref_chosen_logps / ref_rejected_logps when every record
// of `dataset` carries both; an undefined tensor when none carries either (or N = 0). `split`
// ("train" / "eval") names the split in errors. Throws ConfigError when only some records carry
// them (or only one of the two columns is present), naming how many lack them and the first such
// record by its source_index (0-based position in the split's data files).
torch::Tensor dataset_reference_logps(const data::PreferenceDataset& dataset,
                                      const std::string& split);

}  // namespace dpok::train
