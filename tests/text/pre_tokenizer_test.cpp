// Pre-tokenizers and split behaviours, on the examples of the tokenizers documentation.
#include "dpok/text/pre_tokenizer.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok::text {
namespace {

using Strings = std::vector<std::string>;
const JsonPath kPath{"tokenizer.json", "/pre_tokenizer"};

Strings run(const nlohmann::json& spec, const std::string& text) {
  std::vector<Piece> pieces{{text, true}};
  make_pre_tokenizer(spec, kPath)->pre_tokenize(pieces);
  Strings out;
  for (const Piece& p : pieces) out.push_back(p.text);
  return out;
}

nlohmann::json split_dash(const char* behavior) {
  return {
      {"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", false}};
}

TEST(PreTokenizer, SplitBehaviors) {
  const std::string s = "the-final--countdown";
  EXPECT_EQ(run(split_dash("Removed"), s), (Strings{"the", "final", "countdown"}));
  EXPECT_EQ(run(split_dash("Isolated"), s), (Strings{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(run(split_dash("MergedWithPrevious"), s),
            (Strings{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(run(split_dash("MergedWithNext"), s), (Strings{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(run(split_dash("Contiguous"), s), (Strings{"the", "-", "final", "--", "countdown"}));
  nlohmann::json inverted = split_dash("Removed");
  inverted["invert"] = true;
  EXPECT_EQ(run(inverted, s), (Strings{"-", "-", "-"}));
}

TEST(PreTokenizer, SplitRegexLlama3) {
  const nlohmann::json spec = {
      {"type", "Split"},
      {"pattern",
       {{"Regex",
         R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}}},
      {"behavior", "Isolated"}};
  EXPECT_EQ(run(spec, "Hello world's 12345  !!\n\n"),
            (Strings{"Hello", " world", "'s", " ", "123", "45", " ", " !!\n\n"}));
}

TEST(PreTokenizer, ByteLevel) {
  const nlohmann::json spec = {
      {"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  EXPECT_EQ(run(spec, "Hello  there\n"), (Strings{"ĠHello", "Ġ", "Ġthere", "Ċ"}));
  const nlohmann::json no_regex = {
      {"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}};
  EXPECT_EQ(run(no_regex, "a b é"), (Strings{"aĠbĠÃ©"}));
}

TEST(PreTokenizer, Metaspace) {
  nlohmann::json spec = {
      {"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "always"}, {"split", true}};
  EXPECT_EQ(run(spec, "Hey  friend"), (Strings{"▁Hey", "▁", "▁friend"}));
  spec["split"] = false;
  EXPECT_EQ(run(spec, "Hey friend"), (Strings{"▁Hey▁friend"}));
  spec["prepend_scheme"] = "never";
  EXPECT_EQ(run(spec, "Hey friend"), (Strings{"Hey▁friend"}));
  spec["prepend_scheme"] = "sometimes";
  EXPECT_THROW(run(spec, "x"), FormatError);
  // "first": only a piece that starts the original input gets the prefix.
  spec["prepend_scheme"] = "first";
  std::vector<Piece> pieces{{"a b", true}, {"c", false}};
  make_pre_tokenizer(spec, kPath)->pre_tokenize(pieces);
  EXPECT_EQ(pieces[0].text, "▁a▁b");
  EXPECT_EQ(pieces[1].text, "c");
}

TEST(PreTokenizer, DigitsWhitespacePunctuationSequence) {
  EXPECT_EQ(run({{"type", "Digits"}, {"individual_digits", true}}, "a123b"),
            (Strings{"a", "1", "2", "3", "b"}));
  EXPECT_EQ(run({{"type", "Digits"}, {"individual_digits", false}}, "a123b4"),
            (Strings{"a", "123", "b", "4"}));
  EXPECT_EQ(run({{"type", "Whitespace"}}, "Hey man!! How's it?"),
            (Strings{"Hey", "man", "!!", "How", "'", "s", "it", "?"}));
  EXPECT_EQ(run({{"type", "WhitespaceSplit"}}, " Hey\u3000man! "), (Strings{"Hey", "man!"}));
  EXPECT_EQ(run({{"type", "Punctuation"}}, "Hey, man!"), (Strings{"Hey", ",", " man", "!"}));
  const nlohmann::json seq = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "WhitespaceSplit"}}, {{"type", "Digits"}, {"individual_digits", true}}}}};
  EXPECT_EQ(run(seq, "ab12 c"), (Strings{"ab", "1", "2", "c"}));
}

TEST(PreTokenizer, BertSplitsWhitespaceAndIsolatesPunctuation) {
  const nlohmann::json bert = {{"type", "BertPreTokenizer"}};
  EXPECT_EQ(run(bert, "Hey friend!     How are you?!?"),
            (Strings{"Hey", "friend", "!", "How", "are", "you", "?", "!", "?"}));
  // ASCII symbols count as punctuation; other symbols (€, So) do not; P* does.
  EXPECT_EQ(run(bert, "a$b€c¿d\u3000e\u2014f"),
            (Strings{"a", "$", "b€c", "¿", "d", "e", "\u2014", "f"}));
  // Unicode 8.0's categories, as tokenizers has them: U+166D and U+111C9 were Po then.
  EXPECT_EQ(run(bert, "x\u166dy\U000111c9z\u061dw"),
            (Strings{"x", "\u166d", "y", "\U000111c9", "z\u061dw"}));
}

TEST(PreTokenizer, UnsupportedTypeNamed) {
  EXPECT_TRUE(::dpok::testing::throws_with<UnsupportedError>(
      [&] {
        run({{"type", "UnicodeScripts"}}, "x");
      },
      {"tokenizer.json at /pre_tokenizer: pre-tokenizer type \"UnicodeScripts\""}));
}

}  // namespace
}  // namespace dpok::text
