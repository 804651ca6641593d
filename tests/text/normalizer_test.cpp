// Normalizers with tokenizers' semantics.
#include "dpok/text/normalizer.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok::text {
namespace {

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
}

}  // namespace
}  // namespace dpok::text
