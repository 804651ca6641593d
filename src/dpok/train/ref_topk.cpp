// The top-k reference cache: streaming build, memory-mapped validated reads (see ref_topk.h).
#include "dpok/train/ref_topk.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>

#include "dpok/core/error.h"
#include "dpok/data/torch/batch_iterator.h"
#include "dpok/dist/group.h"
#include "dpok/io/cache_file.h"
#include "dpok/io/mapped_file.h"
#include "dpok/model/logprobs.h"
#include "dpok/model/scoring.h"
#include "dpok/train/ref_cache.h"

namespace dpok::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kComponent = "train.ref_topk";
const io::CacheFormat kFormat{kComponent,
                              "top-k reference cache",
                              {'D', 'P', 'O', 'K', 'T', 'O', 'P', 'K'},
                              kReferenceCacheVersion};

// The payload's last 32 bytes: what the table was built for.
struct Trailer {
  uint64_t num_records;
  uint32_t k;
  uint32_t rows;
  uint64_t vocab;
  uint64_t positions;
};
static_assert(sizeof(Trailer) == 32, "the trailer is 32 bytes on disk");

// Top-k of the reference's next-token log-probs for hidden rows [n, H], in slices of `slice`
// rows: ids int32 [n, k], log-probs fp32 [n, k].
std::pair<torch::Tensor, torch::Tensor> topk_rows(model::CausalLM& reference,
                                                  const torch::Tensor& hidden, int64_t k,
                                                  int64_t slice) {
  std::vector<torch::Tensor> ids, logps;
  for (const auto& part : hidden.split(slice)) {
    auto lp = torch::log_softmax(reference->logits(part).to(torch::kFloat), -1);
    auto [values, indices] = lp.topk(k, -1, /*largest=*/true, /*sorted=*/true);
    ids.push_back(indices.to(torch::kInt).to(torch::kCPU).contiguous());
    logps.push_back(values.to(torch::kCPU).contiguous());
  }
  return {torch::cat(ids), torch::cat(logps)};
}

// Where one batch's blocks go, (record, row) by (record, row): the cache file itself, or a
// rank's part file (framed per batch by its row count, for the merge).
using BlockSink = std::function<void(int64_t rows, int64_t row, uint32_t count, const void* ids,
                                     const void* logps, size_t bytes)>;

std::ofstream open_part(const fs::path& part) {
  std::ofstream out(part, std::ios::binary | std::ios::trunc);
  if (!out) DPOK_THROW(IoError, kComponent, "cannot write {}", part.string());
  return out;
}

void read_exact(std::ifstream& in, void* data, size_t bytes, const fs::path& part) {
  in.read(static_cast<char*>(data), static_cast<std::streamsize>(bytes));
  if (static_cast<size_t>(in.gcount()) != bytes) {
    DPOK_THROW(IoError, kComponent, "{}: truncated part of the top-k cache", part.string());
  }
}

}  // namespace

int64_t penalty_positions(size_t prompt_len, size_t completion_len) {
  const auto c = static_cast<int64_t>(completion_len);
  return std::max<int64_t>(0, prompt_len == 0 ? c - 1 : c);
}

fs::path topk_cache_file(const fs::path& cache_dir, const std::string& key, int64_t k,
                         int64_t rows_per_record) {
  return cache_dir /
         fmt::format("reftopk-{}-k{}-{}.bin", key, k, rows_per_record == 2 ? "both" : "chosen");
}

void build_topk_cache(model::CausalLM& reference, const data::PreferenceDataset& dataset, int64_t k,
                      int64_t rows_per_record, int64_t batch_size, int64_t pad_id,
                      const fs::path& file, const std::string& key, int64_t chunk_rows,
                      torch::Tensor* sequence_logps, dist::Group* group) {
  DPOK_CHECK(rows_per_record == 1 || rows_per_record == 2, "rows_per_record must be 1 or 2");
  DPOK_CHECK(sequence_logps == nullptr ||
                 (sequence_logps->dim() == 2 &&
                  sequence_logps->size(0) == static_cast<int64_t>(dataset.records.size())),
             "sequence_logps must be [N, 2]");
  torch::NoGradGuard no_grad;
  const int64_t vocab = reference->config().vocab_size;
  k = std::min(k, vocab);
  const int64_t slice = model::auto_chunk_rows(vocab);
  const auto device = reference->options().device();
  const int world = group != nullptr ? group->world_size() : 1;
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) {
    DPOK_THROW(IoError, kComponent, "cannot create {}: {}", file.parent_path().string(),
               ec.message());
  }
  const auto part_of = [&](int r) { return fs::path(file.string() + ".part" + std::to_string(r)); };
  std::unique_ptr<io::CacheFileWriter> writer;
  std::vector<uint32_t> counts;
  std::ofstream part;
  BlockSink sink;
  if (world == 1) {
    writer = std::make_unique<io::CacheFileWriter>(file, kFormat, key);
    sink = [&](int64_t, int64_t, uint32_t count, const void* ids, const void* logps, size_t n) {
      writer->write(ids, n);
      writer->write(logps, n);
      counts.push_back(count);
    };
  } else {
    part = open_part(part_of(group->rank()));
    sink = [&](int64_t rows, int64_t row, uint32_t count, const void* ids, const void* logps,
               size_t n) {
      if (row == 0) part.write(reinterpret_cast<const char*>(&rows), sizeof(rows));
      part.write(reinterpret_cast<const char*>(&count), sizeof(count));
      part.write(static_cast<const char*>(ids), static_cast<std::streamsize>(n));
      part.write(static_cast<const char*>(logps), static_cast<std::streamsize>(n));
    };
  }
  data::BatchIterator batches(dataset, batch_size, /*seed=*/0, /*shuffle=*/false,
                              /*group_by_length=*/false, pad_id);
  int64_t next_record = 0, n_batches = 0;
  for (int64_t batch_index = 0;; ++batch_index) {
    auto batch = batches.next();
    if (!batch) break;
    n_batches = batch_index + 1;
    const int64_t b = batch->num_pairs();
    for (int64_t i = 0; i < b; ++i) {
      DPOK_CHECK(batch->record_indices[i] == next_record + i,
                 "unshuffled batches must visit records in order");
    }
    next_record += b;
    if (!dist::takes_batch(group, batch_index)) continue;
    // Record-major row order: (pair 0 chosen, pair 0 rejected, pair 1 chosen, ...).
    std::vector<int64_t> order;
    for (int64_t i = 0; i < b; ++i) {
      for (int64_t r = 0; r < rows_per_record; ++r) order.push_back(r * b + i);
    }
    auto rows = torch::tensor(order, torch::kLong);
    auto ids = batch->input_ids.index_select(0, rows);
    auto mask = batch->attention_mask.index_select(0, rows);
    auto targets = model::completion_targets(ids, batch->completion_mask.index_select(0, rows));
    torch::Tensor hidden;
    if (sequence_logps != nullptr) {
      // One forward of all 2B rows serves both caches; the same call and batching as
      // compute_reference_logps, so the table is the one ref_cache.h would compute.
      auto scores = model::score_sequences(reference, batch->input_ids.to(device),
                                           batch->attention_mask.to(device),
                                           batch->completion_mask.to(device), chunk_rows);
      sequence_logps->index_copy_(0, torch::tensor(batch->record_indices, torch::kLong),
                                  scores.logps.to(torch::kCPU).view({2, b}).t());
      hidden = scores.hidden.index_select(0, rows.to(device));
    } else {
      hidden = reference->forward_hidden(ids.to(device), mask.to(device));
    }
    auto wanted = (targets >= 0);
    auto flat = wanted.reshape(-1).nonzero().squeeze(1).to(device);
    auto selected = hidden.reshape({-1, hidden.size(-1)}).index_select(0, flat);
    auto [top_ids, top_logps] = topk_rows(reference, selected, k, slice);
    auto row_counts = wanted.sum(1).to(torch::kLong);
    int64_t start = 0;
    const auto n_rows = static_cast<int64_t>(order.size());
    for (int64_t r = 0; r < n_rows; ++r) {
      const int64_t c = row_counts[r].item<int64_t>();
      sink(n_rows, r, static_cast<uint32_t>(c), top_ids.narrow(0, start, c).data_ptr<int32_t>(),
           top_logps.narrow(0, start, c).data_ptr<float>(), static_cast<size_t>(c * k) * 4);
      start += c;
    }
  }
  if (world > 1) {
    part.close();
    if (!part) DPOK_THROW(IoError, kComponent, "cannot write {}", part_of(group->rank()).string());
    if (sequence_logps != nullptr) {
      group->all_reduce(*sequence_logps, "all_reduce of the reference log-prob table");
    }
    group->barrier("writing this rank's part of the top-k cache");
    if (group->is_main()) {
      // Batch j is the next frame of part j mod world: interleaving them gives one process's file.
      writer = std::make_unique<io::CacheFileWriter>(file, kFormat, key);
      std::vector<std::ifstream> parts;
      for (int r = 0; r < world; ++r) parts.emplace_back(part_of(r), std::ios::binary);
      std::vector<char> buffer;
      for (int64_t j = 0; j < n_batches; ++j) {
        auto& in = parts[static_cast<size_t>(j % world)];
        const fs::path source = part_of(static_cast<int>(j % world));
        int64_t n_rows = 0;
        read_exact(in, &n_rows, sizeof(n_rows), source);
        for (int64_t r = 0; r < n_rows; ++r) {
          uint32_t c = 0;
          read_exact(in, &c, sizeof(c), source);
          buffer.resize(static_cast<size_t>(c) * static_cast<size_t>(k) * 8);
          read_exact(in, buffer.data(), buffer.size(), source);
          writer->write(buffer.data(), buffer.size());
          counts.push_back(c);
        }
      }
    }
  }
  if (writer) {
    writer->write(counts.data(), counts.size() * sizeof(uint32_t));
    Trailer trailer{};
    trailer.num_records = dataset.records.size();
    trailer.k = static_cast<uint32_t>(k);
    trailer.rows = static_cast<uint32_t>(rows_per_record);
    trailer.vocab = static_cast<uint64_t>(vocab);
    for (uint32_t c : counts) trailer.positions += c;
    writer->write(&trailer, sizeof(trailer));
    writer->commit();
  }
  if (world > 1) {
    if (group->is_main()) {
      for (int r = 0; r < world; ++r) fs::remove(part_of(r), ec);
    }
    group->barrier("publishing the top-k cache");
  }
}

RefTopkCache::RefTopkCache(const fs::path& file, const std::string& key,
                           const data::PreferenceDataset& dataset, int64_t k,
                           int64_t rows_per_record, int64_t vocab_size)
    : file_(file), k_(k), rows_(rows_per_record), vocab_(vocab_size) {
  mapping_ = io::MappedFile::open(file);
  const auto payload = io::cache_payload(
      std::span<const std::byte>(mapping_->data(), mapping_->size()), kFormat, key, file);
  data_ = reinterpret_cast<const unsigned char*>(payload.data());
  payload_bytes_ = payload.size();
  validate(dataset);
}

RefTopkCache::~RefTopkCache() = default;

void RefTopkCache::validate(const data::PreferenceDataset& dataset) {
  const auto name = file_.string();
  if (payload_bytes_ < sizeof(Trailer)) {
    DPOK_THROW(FormatError, kComponent, "{}: {} payload bytes, shorter than the {}-byte trailer",
               name, payload_bytes_, sizeof(Trailer));
  }
  Trailer h;
  std::memcpy(&h, data_ + payload_bytes_ - sizeof(Trailer), sizeof(h));
  const uint64_t n = dataset.records.size();
  if (h.num_records != n || h.k != static_cast<uint64_t>(k_) ||
      h.rows != static_cast<uint64_t>(rows_) || h.vocab != static_cast<uint64_t>(vocab_)) {
    DPOK_THROW(FormatError, kComponent,
               "{}: built for {} records, k = {}, {} rows per record, vocabulary {}; expected "
               "{}, {}, {}, {}",
               name, h.num_records, h.k, h.rows, h.vocab, n, k_, rows_, vocab_);
  }
  const uint64_t blocks = n * static_cast<uint64_t>(rows_);
  const uint64_t expected =
      h.positions * static_cast<uint64_t>(k_) * 8 + blocks * 4 + sizeof(Trailer);
  if (h.positions > payload_bytes_ || payload_bytes_ != expected) {
    DPOK_THROW(FormatError, kComponent,
               "{}: {} payload bytes, expected {} for {} positions (truncated?)", name,
               payload_bytes_, expected, h.positions);
  }
  std::vector<uint32_t> counts(blocks);
  if (blocks > 0) {
    std::memcpy(counts.data(), data_ + payload_bytes_ - sizeof(Trailer) - blocks * 4, blocks * 4);
  }
  offsets_.assign(blocks + 1, 0);
  for (uint64_t i = 0; i < blocks; ++i) {
    const auto& r = dataset.records[i / static_cast<uint64_t>(rows_)];
    const bool chosen = i % static_cast<uint64_t>(rows_) == 0;
    const int64_t want = penalty_positions(r.prompt_ids.size(),
                                           chosen ? r.chosen_ids.size() : r.rejected_ids.size());
    if (counts[i] != static_cast<uint64_t>(want)) {
      DPOK_THROW(FormatError, kComponent,
                 "{}: record {} ({}) has {} cached positions, the dataset needs {}", name,
                 i / static_cast<uint64_t>(rows_), chosen ? "chosen" : "rejected", counts[i], want);
    }
    offsets_[i + 1] = offsets_[i] + counts[i];
  }
  if (static_cast<uint64_t>(offsets_.back()) != h.positions) {
    DPOK_THROW(FormatError, kComponent, "{}: trailer says {} positions, the counts sum to {}", name,
               h.positions, offsets_.back());
  }
}

TopkRows RefTopkCache::gather(const std::vector<int64_t>& record_indices,
                              const torch::Tensor& mask) const {
  const auto b = static_cast<int64_t>(record_indices.size());
  DPOK_CHECK(mask.dim() == 2 && mask.size(0) == rows_ * b,
             "top-k gather: mask {} must be [rows_per_record · B = {}, T]", c10::str(mask.sizes()),
             rows_ * b);
  const int64_t t = mask.size(1);
  auto cpu_mask = mask.to(torch::kCPU).to(torch::kBool);
  TopkRows out{torch::zeros({rows_ * b, t, k_}, torch::kLong),
               torch::zeros({rows_ * b, t, k_}, torch::kFloat)};
  for (int64_t r = 0; r < rows_ * b; ++r) {
    const int64_t record = record_indices[static_cast<size_t>(r % b)];
    const auto block = static_cast<size_t>(record * rows_ + r / b);
    DPOK_CHECK(block + 1 < offsets_.size(), "top-k gather: record {} outside the cache", record);
    const int64_t start = offsets_[block], count = offsets_[block + 1] - start;
    auto positions = cpu_mask[r].nonzero().squeeze(1);
    DPOK_CHECK(positions.size(0) == count,
               "top-k gather: record {} row {} has {} penalty positions, the cache {}", record,
               r / b, positions.size(0), count);
    if (count == 0) continue;
    auto* base = const_cast<unsigned char*>(data_) + start * k_ * 8;
    // Blocks before this one hold ids and log-probs of `start` positions in total.
    auto ids = torch::from_blob(base, {count, k_}, torch::kInt);
    auto logps = torch::from_blob(base + count * k_ * 4, {count, k_}, torch::kFloat);
    const int64_t low = ids.min().item<int64_t>(), high = ids.max().item<int64_t>();
    if (low < 0 || high >= vocab_) {
      DPOK_THROW(FormatError, kComponent, "{}: record {}: cached token id {} outside [0, {})",
                 file_.string(), record, low < 0 ? low : high, vocab_);
    }
    out.ids[r].index_copy_(0, positions, ids.to(torch::kLong));
    out.logps[r].index_copy_(0, positions, logps.clone());
  }
  return out;
}

}  // namespace dpok::train
