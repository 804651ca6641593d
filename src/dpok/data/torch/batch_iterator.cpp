// Deterministic, resumable batch iteration (see batch_iterator.h).
#include "dpok/data/torch/batch_iterator.h"

#include <algorithm>
#include <numeric>

#include "dpok/core/error.h"
#include "dpok/data/rng.h"

namespace dpok::data {
namespace {

constexpr const char* kComponent = "data.iterator";
constexpr int kStateVersion = 1;
constexpr int64_t kMegaBatchFactor = 50;

}  // namespace

BatchIterator::BatchIterator(const PreferenceDataset& dataset, int64_t batch_size, uint64_t seed,
                             bool shuffle, bool group_by_length, int64_t pad_id, bool drop_last,
                             int64_t pad_to_multiple_of)
    : dataset_(dataset),
      batch_size_(batch_size),
      seed_(seed),
      shuffle_(shuffle),
      group_by_length_(group_by_length),
      pad_id_(pad_id),
      drop_last_(drop_last),
      pad_to_multiple_of_(pad_to_multiple_of) {
  if (batch_size < 1)
    DPOK_THROW(ConfigError, kComponent, "batch size must be >= 1, got {}", batch_size);
  if (dataset.records.empty()) DPOK_THROW(ConfigError, kComponent, "the dataset has no records");
  batches_ = epoch_batches(0);
}

std::vector<std::vector<int64_t>> BatchIterator::epoch_batches(int64_t epoch) const {
  const auto n = static_cast<int64_t>(dataset_.records.size());
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), int64_t{0});
  SplitMix64 rng(seed_ ^ (0xD1B54A32D192ED03ull * static_cast<uint64_t>(epoch + 1)));
  if (shuffle_) fisher_yates(order, rng);
  if (group_by_length_) {
    const int64_t mega = kMegaBatchFactor * batch_size_;
    for (int64_t start = 0; start < n; start += mega) {
      const auto first = order.begin() + start, last = order.begin() + std::min(n, start + mega);
      std::stable_sort(first, last, [&](int64_t a, int64_t b) {
        return dataset_.records[a].max_sequence_length() >
               dataset_.records[b].max_sequence_length();
      });
    }
  }
  std::vector<std::vector<int64_t>> batches;
  for (int64_t start = 0; start < n; start += batch_size_) {
    const int64_t end = std::min(n, start + batch_size_);
    if (drop_last_ && end - start < batch_size_) break;
    if (end - start < shard_world_) break;
    batches.emplace_back(order.begin() + start, order.begin() + end);
  }
  // Grouped batches come out sorted by length; shuffling their order restores randomness.
  if (group_by_length_ && shuffle_) fisher_yates(batches, rng);
  return batches;
}

void BatchIterator::set_shard(int64_t rank, int64_t world) {
  DPOK_CHECK(world >= 1 && rank >= 0 && rank < world, "shard {} of {}", rank, world);
  shard_rank_ = rank;
  shard_world_ = world;
  batches_ = epoch_batches(epoch_);
}

std::optional<std::vector<int64_t>> BatchIterator::peek_indices() const {
  if (position_ >= batches_per_epoch()) return std::nullopt;
  return batches_[position_];
}

std::optional<PreferenceBatch> BatchIterator::next() {
  if (position_ >= batches_per_epoch()) {
    ++epoch_;
    position_ = 0;
    batches_ = epoch_batches(epoch_);
    return std::nullopt;
  }
  auto indices = batches_[position_++];
  if (shard_world_ > 1) {
    const auto n = static_cast<int64_t>(indices.size());
    indices = std::vector<int64_t>(indices.begin() + shard_rank_ * n / shard_world_,
                                   indices.begin() + (shard_rank_ + 1) * n / shard_world_);
  }
  std::vector<const PreferenceRecord*> records;
  records.reserve(indices.size());
  for (const int64_t i : indices) records.push_back(&dataset_.records[i]);
  PreferenceBatch batch = collate(records, pad_id_, pad_to_multiple_of_);
  batch.record_indices = indices;
  return batch;
}

nlohmann::json BatchIterator::state() const {
  return {{"version", kStateVersion},
          {"seed", seed_},
          {"epoch", epoch_},
          {"position", position_},
          {"num_records", dataset_.records.size()},
          {"batch_size", batch_size_},
          {"shuffle", shuffle_},
          {"group_by_length", group_by_length_},
          {"drop_last", drop_last_}};
}

void BatchIterator::restore(const nlohmann::json& state) {
  const auto expect = [&](const char* key, const nlohmann::json& mine) {
    if (!state.contains(key)) {
      DPOK_THROW(ConfigError, kComponent, "iterator state has no '{}'", key);
    }
    if (state.at(key) != mine) {
      DPOK_THROW(ConfigError, kComponent, "iterator state '{}' is {}, this iterator has {}", key,
                 state.at(key).dump(), mine.dump());
    }
  };
  if (!state.is_object()) DPOK_THROW(ConfigError, kComponent, "iterator state must be an object");
  expect("version", kStateVersion);
  expect("seed", seed_);
  expect("num_records", dataset_.records.size());
  expect("batch_size", batch_size_);
  expect("shuffle", shuffle_);
  expect("group_by_length", group_by_length_);
  expect("drop_last", drop_last_);
  const auto epoch = state.value("epoch", int64_t{-1});
  const auto position = state.value("position", int64_t{-1});
  auto batches = epoch_batches(std::max<int64_t>(epoch, 0));
  if (epoch < 0 || position < 0 || position > static_cast<int64_t>(batches.size())) {
    DPOK_THROW(ConfigError, kComponent, "iterator state has an invalid position: epoch {} batch {}",
               epoch, position);
  }
  epoch_ = epoch;
  position_ = position;
  batches_ = std::move(batches);
}

}  // namespace dpok::data
