// The top-k reference cache of objective.md §6: for every record, the reference's k most likely
// next tokens (ids and log-probs) at every completion position the token penalty reads, so that
// training with penalty_alpha > 0 does not keep the reference model in memory
// (precompute_ref_topk). The penalty then runs on the union of the policy's and the cached
// reference's top-k supports plus one tail bucket (objective::token_divergence_topk).
//
// Positions: those of the trainer's shifted targets (model/scoring.h: position t predicts
// completion token t+1), i.e. per completion c_len − (prompt empty ? 1 : 0) positions; rows are
// the chosen completion (penalty_on = chosen) or chosen and rejected (both).
//
// File <cache_dir>/reftopk-<key>-k<k>-<chosen|both>.bin, little-endian, streamed to a temporary
// file and published atomically, with <key> as in ref_cache.h: the cache header of
// io/cache_file.h (magic "DPOKTOPK", kReferenceCacheVersion, the key, the payload checksum),
// then the payload:
//   per (record, row) in record-major order: positions × k int32 ids, then positions × k fp32
//     log-probs (descending);
//   u32 positions per (record, row), N × rows of them;
//   trailer (32 bytes): u64 N records, u32 k, u32 rows per record (1 | 2), u64 vocabulary size,
//     u64 total positions P (at the end because it is known only once the table is written).
// Disk: 8·k bytes per cached position (256 bytes at k = 32), plus 4 bytes per (record, row).
//
// Reading memory-maps the file (the page cache holds it, no second copy in the process) and
// verifies header, size, checksum and per-record position counts against the dataset up front.
// Does not: decide whether the cache is wanted (the trainer does) or compute the penalty.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "dpok/data/record.h"
#include "dpok/io/mapped_file.h"
#include "dpok/model/causal_lm.h"

namespace dpok::dist {
class Group;
}

namespace dpok::train {

// Cached top-k reference rows of one batch, CPU: ids int64 [R, T, k], log-probs fp32 [R, T, k];
// zeros at positions outside the mask they were gathered for.
struct TopkRows {
  torch::Tensor ids, logps;
};

class RefTopkCache {
 public:
  // Maps `file` and validates it against `key`, `dataset` (record count, positions per record),
  // `k`, `rows_per_record` and `vocab_size`. Throws IoError (unreadable) or FormatError naming
  // the file and what disagrees (bad magic, version, key, size, checksum, counts).
  RefTopkCache(const std::filesystem::path& file, const std::string& key,
               const data::PreferenceDataset& dataset, int64_t k, int64_t rows_per_record,
               int64_t vocab_size);
  ~RefTopkCache();
  RefTopkCache(const RefTopkCache&) = delete;
  RefTopkCache& operator=(const RefTopkCache&) = delete;

  // Rows for a batch: pair i of the batch is dataset record record_indices[i]; row r of `mask`
  // ([R, T] bool, R = rows_per_record · B, chosen rows first as in PreferenceBatch) is row r / B
  // of record record_indices[r % B]. Each mask row must mark exactly the cached positions
  // (DPOK_CHECK). Throws FormatError naming the file when a cached id is outside the vocabulary.
  TopkRows gather(const std::vector<int64_t>& record_indices, const torch::Tensor& mask) const;

  const std::filesystem::path& file() const { return file_; }
  int64_t k() const { return k_; }
  int64_t rows_per_record() const { return rows_; }
  int64_t total_positions() const { return offsets_.back(); }
  uint64_t file_bytes() const { return mapping_->size(); }

 private:
  // Trailer, size and per-record counts against `dataset` (the header and checksum are checked
  // by io::cache_payload); fills offsets_.
  void validate(const data::PreferenceDataset& dataset);

  std::filesystem::path file_;
  std::shared_ptr<const io::MappedFile> mapping_;
  const unsigned char* data_ = nullptr;  // the payload, inside the mapping
  uint64_t payload_bytes_ = 0;
  int64_t k_ = 0, rows_ = 0, vocab_ = 0;
  std::vector<int64_t> offsets_;  // (record, row) → first position; size N·rows + 1
};

// Positions the penalty reads in one completion: c_len − (prompt_len == 0 ? 1 : 0), at least 0.
int64_t penalty_positions(size_t prompt_len, size_t completion_len);

// <cache_dir>/reftopk-<key>-k<k>-<chosen|both>.bin.
std::filesystem::path topk_cache_file(const std::filesystem::path& cache_dir,
                                      const std::string& key, int64_t k, int64_t rows_per_record);

// Runs `reference` over `dataset` (dataset order, batches of `batch_size` pairs, NoGradGuard) and
// streams the top-k table to `file` atomically, its header naming `key`. k is clamped to the
// vocabulary. Positions are projected and log-softmaxed in slices of about 64 MiB of fp32 logits.
// With `sequence_logps` (a [N, 2] fp32 CPU tensor) the same pass also fills the sequence-level
// table of ref_cache.h (`chunk_rows` as there), saving a second reference pass.
//
// With `group` of several ranks the pass is shared out as compute_reference_logps does: rank r
// computes the batches b with b mod world_size = r into <file>.part<r>, rank 0 then interleaves
// the parts into `file` (the same bytes one process writes) and deletes them, and every rank
// returns once the file is published, with the whole sequence table. The cache directory must
// be one all ranks see (output_dir's, on one node). Throws IoError naming the file.
void build_topk_cache(model::CausalLM& reference, const data::PreferenceDataset& dataset, int64_t k,
                      int64_t rows_per_record, int64_t batch_size, int64_t pad_id,
                      const std::filesystem::path& file, const std::string& key,
                      int64_t chunk_rows = 0, torch::Tensor* sequence_logps = nullptr,
                      dist::Group* group = nullptr);

}  // namespace dpok::train
