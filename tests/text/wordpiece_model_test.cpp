// WordPiece model: greedy longest-match-first pieces, whole-word [UNK] on any unmatched rest or
// an over-long word (counted in code points), and the errors for malformed "model" objects.
#include "dpok/text/wordpiece_model.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok::text {
namespace {

const JsonPath kPath{"tokenizer.json", "/model"};
using Ids = std::vector<int32_t>;
constexpr int32_t kUnk = 0, kBa = 1, kNa = 2, kUn = 3, kAff = 4, kAffable = 5, kCafe = 6;

nlohmann::json spec(int64_t max_chars = 100) {
  return {{"type", "WordPiece"},
          {"unk_token", "[UNK]"},
          {"continuing_subword_prefix", "##"},
          {"max_input_chars_per_word", max_chars},
          {"vocab",
           {{"[UNK]", kUnk},
            {"ba", kBa},
            {"##na", kNa},
            {"un", kUn},
            {"##aff", kAff},
            {"##affable", kAffable},
            {"café", kCafe}}}};
}

Ids encode(const WordPieceModel& m, const std::string& word) {
  Ids out{42};  // ids already there stay
  m.encode_word(word, out);
  out.erase(out.begin());
  return out;
}

TEST(WordPieceModel, GreedyLongestMatchFirst) {
  const WordPieceModel m(spec(), kPath);
  EXPECT_EQ(encode(m, "banana"), (Ids{kBa, kNa, kNa}));
  EXPECT_EQ(encode(m, "unaffable"), (Ids{kUn, kAffable}));  // not un ##aff + rest
  EXPECT_EQ(encode(m, "café"), (Ids{kCafe}));
  EXPECT_EQ(encode(m, ""), (Ids{}));
  EXPECT_EQ(m.token_to_id("##na"), kNa);
  EXPECT_EQ(*m.id_to_token(kAffable), "##affable");
  EXPECT_EQ(m.id_limit(), 7);
}

TEST(WordPieceModel, UnmatchedRestMakesTheWholeWordUnknown) {
  const WordPieceModel m(spec(), kPath);
  EXPECT_EQ(encode(m, "nanana"), (Ids{kUnk}));   // "na" only exists as a continuation
  EXPECT_EQ(encode(m, "bananas"), (Ids{kUnk}));  // ba ##na ##na matched, then nothing for "s"
  EXPECT_EQ(encode(m, "unaffablé"), (Ids{kUnk}));
}

TEST(WordPieceModel, LongWordsAreUnknownByCodePoints) {
  const WordPieceModel m(spec(4), kPath);
  EXPECT_EQ(encode(m, "café"), (Ids{kCafe}));  // 4 code points, 5 bytes
  EXPECT_EQ(encode(m, "bana"), (Ids{kBa, kNa}));
  EXPECT_EQ(encode(m, "banana"), (Ids{kUnk}));
  EXPECT_EQ(encode(WordPieceModel(spec(0), kPath), "ba"), (Ids{kUnk}));
}

TEST(WordPieceModel, MalformedSpecsNameThePath) {
  using ::dpok::testing::throws_with;
  const auto load = [](nlohmann::json s) { return [s] { WordPieceModel m(s, kPath); }; };
  nlohmann::json s = spec();
  s["unk_token"] = "<unk>";
  EXPECT_TRUE(throws_with<FormatError>(
      load(s),
      {"tokenizer.json at /model/unk_token: unk_token \"<unk>\" is not in the vocabulary"}));
  s = spec();
  s.erase("continuing_subword_prefix");
  EXPECT_TRUE(throws_with<FormatError>(
      load(s), {"tokenizer.json at /model", "missing required key \"continuing_subword_prefix\""}));
  EXPECT_TRUE(throws_with<FormatError>(
      load(spec(-1)), {"/model/max_input_chars_per_word: expected a count >= 0, got -1"}));
  s = spec();
  s["vocab"]["ba"] = "1";
  EXPECT_TRUE(throws_with<FormatError>(load(s), {"/model/vocab/ba: expected an integer"}));
}

}  // namespace
}  // namespace dpok::text
