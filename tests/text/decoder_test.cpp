// Decoders with tokenizers' decode_chain semantics.
#include "dpok/text/decoder.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"

namespace dpok::text {
namespace {

using Strings = std::vector<std::string>;
const JsonPath kPath{"tokenizer.json", "/decoder"};

std::string decode(const nlohmann::json& spec, Strings tokens) {
  make_decoder(spec, kPath)->decode_chain(tokens);
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

TEST(Decoder, ByteLevel) {
  EXPECT_EQ(decode({{"type", "ByteLevel"}}, {"Hello", "Ġworld", "Ċ", "Ã©"}), "Hello world\né");
  // A token with characters outside the byte table keeps its own UTF-8; half a character is U+FFFD.
  EXPECT_EQ(decode({{"type", "ByteLevel"}}, {"€", "Ã"}), "€\xEF\xBF\xBD");
}

TEST(Decoder, ByteFallback) {
  const nlohmann::json spec = {{"type", "ByteFallback"}};
  EXPECT_EQ(decode(spec, {"a", "<0xC3>", "<0xA9>", "b"}), "aéb");
  EXPECT_EQ(decode(spec, {"<0xC3>", "x", "<0xE2>", "<0x82>"}),
            "\xEF\xBF\xBDx\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(decode(spec, {"<0xZZ>"}), "<0xZZ>");
}

TEST(Decoder, MetaspaceStripReplaceFuse) {
  const nlohmann::json meta = {
      {"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "always"}};
  EXPECT_EQ(decode(meta, {"▁Hey", "▁friend", "!"}), "Hey friend!");
  nlohmann::json never = meta;
  never["prepend_scheme"] = "never";
  EXPECT_EQ(decode(never, {"▁Hey", "▁friend"}), " Hey friend");
  EXPECT_EQ(
      decode({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 2}}, {"  a  ", " "}),
      " a");
  EXPECT_EQ(
      decode({{"type", "Replace"}, {"pattern", {{"String", "▁"}}}, {"content", " "}}, {"▁a▁b"}),
      " a b");
  EXPECT_EQ(
      decode({{"type", "Replace"}, {"pattern", {{"Regex", "a+"}}}, {"content", "x"}}, {"caab"}),
      "cxb");
  const nlohmann::json seq = {
      {"type", "Sequence"},
      {"decoders",
       {{{"type", "Replace"}, {"pattern", {{"String", "▁"}}}, {"content", " "}},
        {{"type", "ByteFallback"}},
        {{"type", "Fuse"}},
        {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  EXPECT_EQ(decode(seq, {"▁Hello", "▁", "<0xC3>", "<0xA9>"}), "Hello é");
}

TEST(Decoder, WordPiece) {
  const nlohmann::json raw = {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", false}};
  // A leading continuation keeps its prefix, as in tokenizers.
  EXPECT_EQ(decode(raw, {"##uelo", "Ara", "##új", "##o", "No", "##guera"}),
            "##uelo Araújo Noguera");
  EXPECT_EQ(decode(raw, {"hello", ",", "world", "!"}), "hello , world !");
  // cleanup works token by token: " ' " and " do not" span tokens and never match.
  const nlohmann::json clean = {{"type", "WordPiece"}};
  EXPECT_EQ(decode(clean, {"hello", ",", "world", "!", "do", "n't", "?", "it", "'", "s", "."}),
            "hello, world! don't? it ' s.");
  EXPECT_EQ(decode(clean, {"i", "'m", "we", "'ve", "they", "'re", "he", "'s"}),
            "i'm we've they're he's");
  EXPECT_EQ(decode({{"type", "WordPiece"}, {"prefix", "@@"}}, {"un", "@@able", "##x"}),
            "unable ##x");
}

TEST(Decoder, MalformedAndUnsupported) {
  EXPECT_THROW(decode({{"type", "CTC"}}, {}), UnsupportedError);
  EXPECT_THROW(decode({{"type", "Strip"}, {"content", "ab"}, {"start", 1}, {"stop", 0}}, {}),
               FormatError);
  EXPECT_THROW(decode({{"type", "Strip"}, {"content", " "}, {"start", -1}, {"stop", 0}}, {}),
               FormatError);
  EXPECT_THROW(decode({{"type", "Sequence"}, {"decoders", "x"}}, {}), FormatError);
  EXPECT_THROW(decode({{"type", "WordPiece"}, {"cleanup", 1}}, {}), FormatError);
}

}  // namespace
}  // namespace dpok::text
