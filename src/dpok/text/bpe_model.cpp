// BPE model (see bpe_model.h).
#include "dpok/text/bpe_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <queue>

#include "dpok/core/error.h"
#include "dpok/text/utf8.h"

namespace dpok::text {

BpeModel::BpeModel(const nlohmann::json& spec, const JsonPath& path)
    : TokenModel(Vocabulary(json_require(spec, "vocab", path), path.child("vocab"))) {
  if (const nlohmann::json* dropout = json_find(spec, "dropout", path)) {
    if (!dropout->is_number() || dropout->get<double>() != 0.0) {
      DPOK_THROW(UnsupportedError, "tokenizer", "{}: BPE dropout is not supported (it is random)",
                 path.child("dropout").where());
    }
  }
  continuing_subword_prefix_ = json_string_or(spec, "continuing_subword_prefix", path, "");
  end_of_word_suffix_ = json_string_or(spec, "end_of_word_suffix", path, "");
  fuse_unk_ = json_bool_or(spec, "fuse_unk", path, false);
  byte_fallback_ = json_bool_or(spec, "byte_fallback", path, false);
  ignore_merges_ = json_bool_or(spec, "ignore_merges", path, false);
  if (json_find(spec, "unk_token", path)) unk_id_ = vocab_.require_id(spec, "unk_token", path);
  byte_fallback_complete_ = true;
  for (int b = 0; b < 256; ++b) {
    const auto id = token_to_id(fmt::format("<0x{:02X}>", b));
    byte_fallback_ids_[b] = id.value_or(-1);
    byte_fallback_complete_ = byte_fallback_complete_ && id.has_value();
  }
  load_merges(json_require(spec, "merges", path), path.child("merges"));
}

void BpeModel::load_merges(const nlohmann::json& merges, const JsonPath& path) {
  json_require_array(merges, path);
  merges_.reserve(merges.size());
  const auto lookup = [&](const std::string& token, const JsonPath& where) {
    const auto id = token_to_id(token);
    if (!id) {
      DPOK_THROW(FormatError, "tokenizer", "{}: merge token \"{}\" is not in the vocabulary",
                 where.where(), token);
    }
    return *id;
  };
  for (size_t i = 0; i < merges.size(); ++i) {
    const JsonPath where = path.child(i);
    std::string a, b;
    if (merges[i].is_string()) {
      // "a b": exactly one space (tokens never contain a raw space in this format).
      const std::string line = merges[i].get<std::string>();
      const size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
        DPOK_THROW(FormatError, "tokenizer", "{}: merge \"{}\" is not two space-separated tokens",
                   where.where(), line);
      }
      a = line.substr(0, space);
      b = line.substr(space + 1);
    } else if (merges[i].is_array() && merges[i].size() == 2) {
      a = json_string(merges[i][0], where.child(size_t{0}));
      b = json_string(merges[i][1], where.child(size_t{1}));
    } else {
      DPOK_THROW(FormatError, "tokenizer", "{}: expected \"a b\" or [a, b], got {}", where.where(),
                 json_type_name(merges[i]));
    }
    if (b.size() < continuing_subword_prefix_.size()) {
      DPOK_THROW(FormatError, "tokenizer",
                 "{}: merge token \"{}\" is shorter than the prefix \"{}\"", where.where(), b,
                 continuing_subword_prefix_);
    }
    const int32_t a_id = lookup(a, where);
    const int32_t b_id = lookup(b, where);
    const int32_t new_id = lookup(a + b.substr(continuing_subword_prefix_.size()), where);
    // Later duplicates overwrite earlier ones, as tokenizers' HashMap::insert does.
    merges_[pair_key(a_id, b_id)] = Merge{static_cast<int32_t>(i), new_id};
  }
}

void BpeModel::initial_symbols(std::string_view word, std::vector<int32_t>& ids) const {
  // Pending unknown run: tokenizers emits one unk per unknown character, or one per run with
  // fuse_unk.
  bool pending_unk = false;
  std::string symbol;
  size_t pos = 0;
  while (pos < word.size()) {
    const size_t begin = pos;
    pos += utf8_sequence_length(static_cast<unsigned char>(word[pos]));
    symbol.clear();
    if (begin != 0) symbol += continuing_subword_prefix_;
    symbol.append(word.substr(begin, pos - begin));
    if (pos == word.size()) symbol += end_of_word_suffix_;
    if (const auto id = vocab_.id_of(symbol)) {
      if (pending_unk) ids.push_back(*unk_id_);
      pending_unk = false;
      ids.push_back(*id);
      continue;
    }
    if (byte_fallback_) {
      const bool all_bytes = std::all_of(symbol.begin(), symbol.end(), [&](char c) {
        return byte_fallback_ids_[static_cast<uint8_t>(c)] >= 0;
      });
      if (all_bytes) {
        if (pending_unk) ids.push_back(*unk_id_);
        pending_unk = false;
        for (const char c : symbol) ids.push_back(byte_fallback_ids_[static_cast<uint8_t>(c)]);
        continue;
      }
    }
    // Without unk_token, tokenizers drops the character; we do the same (exactness over taste).
    if (!unk_id_) continue;
    if (pending_unk && !fuse_unk_) ids.push_back(*unk_id_);
    pending_unk = true;
  }
  if (pending_unk) ids.push_back(*unk_id_);
}

void BpeModel::merge(std::vector<int32_t>& ids) const {
  const int n = static_cast<int>(ids.size());
  if (n < 2) return;
  std::vector<int> next(n), prev(n);
  std::vector<bool> alive(n, true);
  for (int i = 0; i < n; ++i) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  // (rank, position, new_id): smallest rank first, then leftmost.
  using Candidate = std::tuple<int32_t, int, int32_t>;
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  const auto push = [&](int left) {
    if (left < 0 || next[left] < 0) return;
    const auto it = merges_.find(pair_key(ids[left], ids[next[left]]));
    if (it != merges_.end()) heap.emplace(it->second.rank, left, it->second.new_id);
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    const auto [rank, pos, new_id] = heap.top();
    heap.pop();
    if (!alive[pos] || next[pos] < 0) continue;
    const int right = next[pos];
    const auto it = merges_.find(pair_key(ids[pos], ids[right]));
    if (it == merges_.end() || it->second.new_id != new_id) continue;  // stale candidate
    ids[pos] = new_id;
    alive[right] = false;
    next[pos] = next[right];
    if (next[pos] >= 0) prev[next[pos]] = pos;
    push(prev[pos]);
    push(pos);
  }
  size_t out = 0;
  for (int i = 0; i >= 0; i = next[i]) ids[out++] = ids[i];
  ids.resize(out);
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (const auto id = vocab_.id_of(word)) {
      out.push_back(*id);
      return;
    }
  }
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  CacheShard& shard = cache_[StringHash{}(word) % kCacheShards];
  if (cacheable) {
    std::lock_guard lock(shard.mutex);
    if (const auto it = shard.words.find(word); it != shard.words.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids;
  initial_symbols(word, ids);
  merge(ids);
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    std::lock_guard lock(shard.mutex);
    if (shard.words.size() < kCacheEntriesPerShard) shard.words.emplace(word, std::move(ids));
  }
}

}  // namespace dpok::text
