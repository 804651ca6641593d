// Epoch-wise batch iteration over a PreferenceDataset: shuffling, length grouping, resuming.
//
// What it does: yields collated batches in an order that depends only on (seed, epoch, record
// lengths), identical on every platform (own splitmix64 generator and Fisher–Yates shuffle).
// With group_by_length, each mega-batch of 50·B shuffled records is sorted by length (longest
// first) and cut into batches whose order is then shuffled, which cuts padding while keeping
// randomness (the idea of Hugging Face's LengthGroupedSampler). state()/restore() capture the
// exact position, so a restored iterator yields exactly the batches not yet returned.
// What it doesn't do: move tensors to a device, or own the dataset (it must outlive the
// iterator).
//
// Epochs: next() returns nullopt once at the end of each epoch; the call after that starts the
// next epoch (epoch() increments when the nullopt is returned).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <vector>

#include "dpok/data/record.h"
#include "dpok/data/torch/batch.h"

namespace dpok::data {

class BatchIterator {
 public:
  // Throws ConfigError when batch_size < 1 or the dataset is empty.
  BatchIterator(const PreferenceDataset& dataset, int64_t batch_size, uint64_t seed, bool shuffle,
                bool group_by_length, int64_t pad_id, bool drop_last = false,
                int64_t pad_to_multiple_of = 0);

  // The next batch of this epoch, or nullopt at its end (the following call starts a new epoch).
  std::optional<PreferenceBatch> next();

  // Data parallelism: every batch of the order above is a global micro-batch, of which this
  // process collates only rank `rank`'s contiguous share, records [rank·n/world, (rank+1)·n/world),
  // so the global sample order does not depend on the world size. A final batch with fewer than
  // `world` records is left out (some rank would get none).
  void set_shard(int64_t rank, int64_t world);

  // Dataset indices of the next batch without collating or advancing (nullopt at epoch end).
  std::optional<std::vector<int64_t>> peek_indices() const;

  // {"version", "seed", "epoch", "position", "num_records", "batch_size", "shuffle",
  //  "group_by_length", "drop_last"}.
  nlohmann::json state() const;
  // Restores a state() of an iterator over the same dataset and settings; throws ConfigError
  // naming the first setting that differs.
  void restore(const nlohmann::json& state);

  int64_t batches_per_epoch() const { return static_cast<int64_t>(batches_.size()); }
  int64_t epoch() const { return epoch_; }
  int64_t position() const { return position_; }  // batches already returned this epoch

  // The batch order of `epoch` (lists of dataset indices); exposed for tests and tools.
  std::vector<std::vector<int64_t>> epoch_batches(int64_t epoch) const;

 private:
  const PreferenceDataset& dataset_;
  int64_t batch_size_;
  uint64_t seed_;
  bool shuffle_, group_by_length_;
  int64_t pad_id_;
  bool drop_last_;
  int64_t pad_to_multiple_of_;  // <= 1: no rounding (collate)
  int64_t shard_rank_ = 0, shard_world_ = 1;
  int64_t epoch_ = 0, position_ = 0;
  std::vector<std::vector<int64_t>> batches_;  // the current epoch's order
};

}  // namespace dpok::data
