// Sentence-encoder embeddings of records, with their disk cache (see encoder_embeddings.h).
#include "dpok/train/encoder_embeddings.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/core/hash.h"
#include "dpok/io/cache_file.h"

namespace dpok::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kComponent = "train.encoder";
const io::CacheFormat kFormat{kComponent,
                              "encoder embedding cache",
                              {'D', 'P', 'O', 'K', 'E', 'N', 'C', 'E'},
                              kEncoderCacheVersion};

std::string cache_key(const data::PreferenceDataset& dataset, const fs::path& encoder_dir) {
  Fnv1a h;
  h.add_pod(kEncoderCacheVersion);
  h.add_pod(dataset.records.size());
  for (const auto& r : dataset.records) {
    for (const auto* ids : {&r.prompt_ids, &r.chosen_ids, &r.rejected_ids}) {
      h.add_pod(ids->size());
      h.add(ids->data(), ids->size() * sizeof(int32_t));
    }
  }
  // The encoder is whatever its files say: configuration, tokenizer and weights.
  for (const char* name : {"config.json", "tokenizer.json", "sentence_bert_config.json",
                           "modules.json", "1_Pooling/config.json", "model.safetensors"}) {
    const fs::path file = encoder_dir / name;
    if (!fs::exists(file)) continue;
    h.add(name);
    const std::string bytes = read_file(file);
    h.add_words(bytes.data(), bytes.size());
  }
  return fmt::format("{:016x}", h.value());
}

// The encoder's ids of `text`: [CLS] … [SEP] cut to max_length tokens, the last one kept.
std::vector<int64_t> encoder_ids(const text::Tokenizer& tokenizer, const std::string& text,
                                 int64_t max_length) {
  auto ids = tokenizer.encode(text, /*add_special_tokens=*/true);
  if (static_cast<int64_t>(ids.size()) > max_length) {
    const int32_t last = ids.back();
    ids.resize(static_cast<size_t>(max_length));
    ids.back() = last;
  }
  return {ids.begin(), ids.end()};
}

}  // namespace

at::Tensor encode_texts(const model::SentenceEncoder& encoder, const text::Tokenizer& tokenizer,
                        const std::vector<std::string>& texts, int64_t batch_size) {
  const auto n = static_cast<int64_t>(texts.size());
  auto out = at::empty({n, encoder.dimension()}, at::kFloat);
  std::vector<std::vector<int64_t>> ids(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    ids[i] = encoder_ids(tokenizer, texts[i], encoder.max_seq_length());
  }
  // Similar lengths share a batch, so little of it is padding.
  std::vector<int64_t> order(texts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return ids[a].size() < ids[b].size(); });
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t rows = std::min(batch_size, n - start);
    int64_t length = 0;
    for (int64_t r = 0; r < rows; ++r) {
      length = std::max<int64_t>(length, static_cast<int64_t>(ids[order[start + r]].size()));
    }
    auto input = at::zeros({rows, length}, at::kLong);
    auto mask = at::zeros({rows, length}, at::kLong);
    for (int64_t r = 0; r < rows; ++r) {
      const auto& row = ids[order[start + r]];
      const auto size = static_cast<int64_t>(row.size());
      input[r].narrow(0, 0, size).copy_(at::tensor(row, at::kLong));
      mask[r].narrow(0, 0, size).fill_(1);
    }
    const auto embeddings = encoder.encode(input, mask).to(at::kCPU);
    const auto index = at::tensor(
        std::vector<int64_t>(order.begin() + start, order.begin() + start + rows), at::kLong);
    out.index_copy_(0, index, embeddings);
  }
  return out;
}

EncoderEmbeddingResult fill_encoder_embeddings(data::PreferenceDataset& dataset,
                                               const text::Tokenizer& policy_tokenizer,
                                               const fs::path& encoder_dir,
                                               const fs::path& cache_dir, int64_t batch_size) {
  EncoderEmbeddingResult result;
  auto& records = dataset.records;
  if (records.empty()) return result;
  const std::string key = cache_key(dataset, encoder_dir);
  const fs::path file = cache_dir / ("enc-" + key + ".bin");
  at::Tensor table;  // [3N, d]: prompts, then chosen, then rejected
  if (!cache_dir.empty() && fs::exists(file)) {
    const std::string bytes = read_file(file);
    const auto payload = io::cache_payload(std::string_view(bytes), kFormat, key, file);
    uint64_t rows = 0, dim = 0;
    if (payload.size() >= 16) {
      std::memcpy(&rows, payload.data(), 8);
      std::memcpy(&dim, payload.data() + 8, 8);
    }
    if (rows != 3 * records.size() || payload.size() != 16 + rows * dim * sizeof(float)) {
      DPOK_THROW(FormatError, kComponent, "{}: holds {} rows of width {} for {} records",
                 file.string(), rows, dim, records.size());
    }
    table = at::empty({static_cast<int64_t>(rows), static_cast<int64_t>(dim)}, at::kFloat);
    std::memcpy(table.data_ptr<float>(), payload.data() + 16, payload.size() - 16);
    result.from_cache = true;
  } else {
    const auto encoder = model::SentenceEncoder::load(encoder_dir);
    const auto encoder_tokenizer = text::Tokenizer::load(encoder_dir);
    std::vector<std::string> texts;
    texts.reserve(3 * records.size());
    for (auto part : {&data::PreferenceRecord::prompt_ids, &data::PreferenceRecord::chosen_ids,
                      &data::PreferenceRecord::rejected_ids}) {
      for (const auto& r : records) {
        texts.push_back(policy_tokenizer.decode(r.*part, /*skip_special_tokens=*/true));
      }
    }
    table = encode_texts(encoder, *encoder_tokenizer, texts, batch_size).contiguous();
    result.texts_encoded = static_cast<int64_t>(texts.size());
    if (!cache_dir.empty()) {
      const uint64_t header[2] = {static_cast<uint64_t>(table.size(0)),
                                  static_cast<uint64_t>(table.size(1))};
      std::string payload(reinterpret_cast<const char*>(header), sizeof header);
      payload.append(reinterpret_cast<const char*>(table.data_ptr<float>()),
                     static_cast<size_t>(table.numel()) * sizeof(float));
      io::write_cache_file(file, kFormat, key, payload);
    }
  }
  const auto n = static_cast<int64_t>(records.size());
  const auto dim = table.size(1);
  for (int64_t i = 0; i < n; ++i) {
    const auto row = [&](int64_t part) {
      const float* begin = table.data_ptr<float>() + (part * n + i) * dim;
      return std::vector<float>(begin, begin + dim);
    };
    records[static_cast<size_t>(i)].prompt_embedding = row(0);
    records[static_cast<size_t>(i)].chosen_embedding = row(1);
    records[static_cast<size_t>(i)].rejected_embedding = row(2);
  }
  return result;
}

}  // namespace dpok::train
