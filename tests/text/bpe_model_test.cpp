// BPE model: merge order, ignore_merges, subword prefix/suffix, merges as pairs, bad merges.
#include "dpok/text/bpe_model.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok::text {
namespace {

const JsonPath kPath{"tokenizer.json", "/model"};
using Ids = std::vector<int32_t>;

Ids encode(const BpeModel& m, const std::string& word) {
  Ids out;
  m.encode_word(word, out);
  return out;
}

TEST(BpeModel, LowestRankFirstLeftmostOnTies) {
  // "aaa": merge "a a" applies at the leftmost pair first -> "aa" "a".
  const nlohmann::json spec = {{"type", "BPE"},
                               {"vocab", {{"a", 0}, {"b", 1}, {"aa", 2}, {"ab", 3}, {"aab", 4}}},
                               {"merges", {"a b", "a a", "aa b"}}};
  const BpeModel m(spec, kPath);
  EXPECT_EQ(encode(m, "aaa"), (Ids{2, 0}));
  EXPECT_EQ(encode(m, "aab"), (Ids{0, 3}));  // "a b" (rank 0) beats "a a" (rank 1)
  EXPECT_EQ(encode(m, "aab"), (Ids{0, 3}));  // from the cache
  EXPECT_EQ(m.id_limit(), 5);
  EXPECT_EQ(*m.id_to_token(4), "aab");
  EXPECT_EQ(m.id_to_token(9), nullptr);
}

TEST(BpeModel, IgnoreMergesTakesWholeWords) {
  nlohmann::json spec = {{"type", "BPE"},
                         {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}, {"abb", 3}}},
                         {"merges", nlohmann::json::array({nlohmann::json::array({"a", "b"})})},
                         {"ignore_merges", true}};
  EXPECT_EQ(encode(BpeModel(spec, kPath), "abb"), (Ids{3}));
  spec["ignore_merges"] = false;
  EXPECT_EQ(encode(BpeModel(spec, kPath), "abb"), (Ids{2, 1}));
}

TEST(BpeModel, PrefixAndSuffix) {
  const nlohmann::json spec = {{"type", "BPE"},
                               {"continuing_subword_prefix", "##"},
                               {"end_of_word_suffix", "</w>"},
                               {"vocab", {{"a", 0}, {"##b</w>", 1}, {"ab</w>", 2}, {"##b", 3}}},
                               {"merges", {"a ##b</w>"}}};
  const BpeModel m(spec, kPath);
  EXPECT_EQ(encode(m, "ab"), (Ids{2}));
  // Characters not in the vocabulary and no unk_token: dropped, as in tokenizers.
  EXPECT_EQ(encode(m, "ac"), (Ids{0}));
}

TEST(BpeModel, BadMergesNamePath) {
  const nlohmann::json spec = {
      {"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}}}, {"merges", {"a b"}}};
  EXPECT_TRUE(::dpok::testing::throws_with<FormatError>(
      [&] { BpeModel m(spec, kPath); }, {"tokenizer.json at /model/merges/0: merge token \"ab\""}));
  EXPECT_THROW(BpeModel({{"vocab", {{"a", -1}}}, {"merges", nlohmann::json::array()}}, kPath),
               FormatError);
  EXPECT_THROW(BpeModel({{"vocab", {{"a", 0}}}, {"merges", {7}}}, kPath), FormatError);
  EXPECT_THROW(
      BpeModel({{"vocab", nlohmann::json::array()}, {"merges", nlohmann::json::array()}}, kPath),
      FormatError);
}

}  // namespace
}  // namespace dpok::text
