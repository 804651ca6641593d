// The BPE model of tokenizer.json: vocabulary, ranked merges, and the merge loop of Hugging
// Face tokenizers (lowest-rank pair first, leftmost on ties), with ignore_merges,
// byte_fallback (<0xNN> tokens), unk_token/fuse_unk, continuing_subword_prefix and
// end_of_word_suffix. Words are cached (sharded, thread-safe) because natural text repeats them.
//
// Does: turn one pre-tokenized word into ids. Does not: normalize, pre-tokenize, or handle added
// tokens (hf_tokenizer.h). BPE dropout is refused (training-time only; not exact).
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dpok/text/json_util.h"
#include "dpok/text/token_model.h"

namespace dpok::text {

class BpeModel final : public TokenModel {
 public:
  // `spec` is tokenizer.json's "model" object (type "BPE"). Throws FormatError naming the JSON
  // path on malformed vocab/merges, UnsupportedError for dropout.
  BpeModel(const nlohmann::json& spec, const JsonPath& path);

  // Appends the ids of `word` (one pre-token, valid UTF-8) to `out`.
  void encode_word(std::string_view word, std::vector<int32_t>& out) const override;

 private:
  struct Merge {
    int32_t rank;
    int32_t new_id;
  };
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  void load_merges(const nlohmann::json& merges, const JsonPath& path);
  // Splits a word into initial symbols (characters, with byte fallback / unk handling).
  void initial_symbols(std::string_view word, std::vector<int32_t>& ids) const;
  void merge(std::vector<int32_t>& ids) const;

  std::unordered_map<uint64_t, Merge> merges_;
  std::optional<int32_t> unk_id_;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::array<int32_t, 256> byte_fallback_ids_{};
  bool byte_fallback_complete_ = false;

  // Word cache: fixed number of shards, each guarded by its own mutex; stops growing at capacity.
  static constexpr size_t kCacheShards = 64;
  static constexpr size_t kCacheEntriesPerShard = 4096;
  static constexpr size_t kMaxCachedWordBytes = 256;
  struct CacheShard {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> words;
  };
  mutable std::array<CacheShard, kCacheShards> cache_;
};

}  // namespace dpok::text
