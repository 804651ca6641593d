// Normalizers with tokenizers' semantics.
#include "dpok/text/normalizer.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok::text {
namespace {

using namespace std::string_literals;
const JsonPath kPath{"tokenizer.json", "/normalizer"};

std::string run(const nlohmann::json& spec, const std::string& text) {
  return make_normalizer(spec, kPath)->normalize(text);
}

TEST(Normalizer, Each) {
  EXPECT_EQ(run({{"type", "NFC"}}, "e\u0301"), "é");
  EXPECT_EQ(run({{"type", "NFKC"}}, "ﬁ"), "fi");
  EXPECT_EQ(run({{"type", "NFD"}}, "é"), "e\u0301");
  EXPECT_EQ(run({{"type", "NFKD"}}, "ﬁ"), "fi");
  EXPECT_EQ(run({{"type", "Lowercase"}}, "ÀB"), "àb");
  EXPECT_EQ(run({{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}}, " \u3000a b\n"),
            "a b");
  EXPECT_EQ(run({{"type", "Strip"}, {"strip_left", false}, {"strip_right", true}}, "  a  "), "  a");
  EXPECT_EQ(run({{"type", "Prepend"}, {"prepend", "▁"}}, "a"), "▁a");
  EXPECT_EQ(run({{"type", "Prepend"}, {"prepend", "▁"}}, ""), "");
  EXPECT_EQ(run({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "▁"}}, "a b  c"),
            "a▁b▁▁c");
  EXPECT_EQ(
      run({{"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", " "}}, "a  b   c"),
      "a b c");
  const nlohmann::json seq = {
      {"type", "Sequence"},
      {"normalizers",
       {{{"type", "Prepend"}, {"prepend", "▁"}},
        {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "▁"}}}}};
  EXPECT_EQ(run(seq, "Hi there"), "▁Hi▁there");
}

TEST(Normalizer, BertCleansTextAndSpacesIdeographs) {
  const nlohmann::json clean_only = {{"type", "BertNormalizer"},
                                     {"clean_text", true},
                                     {"handle_chinese_chars", false},
                                     {"strip_accents", false},
                                     {"lowercase", false}};
  // NUL, U+FFFD and C* characters go (\v and U+0085 too: controls before whitespace); the other
  // whitespace becomes ' '.
  EXPECT_EQ(run(clean_only, "a\tb\nc\r\u3000d\u00a0e"), "a b c  d e");
  EXPECT_EQ(run(clean_only, "x\0\x01\x7f\v\u0085\uFFFD\u200D\u00AD\uE000y"s), "xy");
  EXPECT_EQ(run(clean_only, "\u0890\u4e2d"), "\u0890\u4e2d");  // Cf new in Unicode 14 stays
  nlohmann::json chinese = clean_only;
  chinese["clean_text"] = false;
  chinese["handle_chinese_chars"] = true;
  EXPECT_EQ(run(chinese, "ab\u4e2d\u6587c\uf900\U00020000"),
            "ab \u4e2d  \u6587 c \uf900  \U00020000 ");
  // Outside tokenizers' ranges: Hiragana, Hangul, and the gap 0x2B820-0x2B91F.
  EXPECT_EQ(run(chinese, "\u3072\ud55c\U0002b820"), "\u3072\ud55c\U0002b820");
}

TEST(Normalizer, BertStripAccentsFollowsLowercase) {
  const nlohmann::json uncased = {{"type", "BertNormalizer"}, {"strip_accents", nullptr}};
  EXPECT_EQ(run(uncased, "Crème BRÛLÉE Ångström"), "creme brulee angstrom");
  // Accents go before lowercasing: İ -> I + U+0307 (Mn, stripped) -> i, not i + U+0307.
  EXPECT_EQ(run(uncased, "İ"), "i");
  nlohmann::json cased = uncased;
  cased["lowercase"] = false;
  EXPECT_EQ(run(cased, "Crème"), "Crème");
  cased["strip_accents"] = true;
  EXPECT_EQ(run(cased, "Crème"), "Creme");
  nlohmann::json lower_keep_accents = uncased;
  lower_keep_accents["strip_accents"] = false;
  EXPECT_EQ(run(lower_keep_accents, "Crème İ"), "crème i\u0307");
}

TEST(Normalizer, Errors) {
  EXPECT_TRUE(::dpok::testing::throws_with<UnsupportedError>(
      [&] {
        run({{"type", "Sequence"}, {"normalizers", {{{"type", "Precompiled"}}}}}, "x");
      },
      {"tokenizer.json at /normalizer/normalizers/0: normalizer type \"Precompiled\""}));
  EXPECT_THROW(run({{"type", "Prepend"}}, "x"), FormatError);
  EXPECT_THROW(run({{"type", "Replace"}, {"pattern", {{"Regex", "("}}}, {"content", ""}}, "x"),
               FormatError);
  EXPECT_THROW(run({{"kind", "NFC"}}, "x"), FormatError);
  EXPECT_TRUE(::dpok::testing::throws_with<FormatError>(
      [&] {
        run({{"type", "BertNormalizer"}, {"lowercase", "yes"}}, "x");
      },
      {"tokenizer.json at /normalizer/lowercase: expected a boolean"}));
}

}  // namespace
}  // namespace dpok::text
