// UTF-8 validation, lossy decoding (Rust from_utf8_lossy) and the GPT-2 byte table.
#include "dpok/text/utf8.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok::text {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8, FindsFirstInvalidByte) {
  EXPECT_FALSE(find_invalid_utf8("plain ascii text, long enough for the fast path").has_value());
  EXPECT_FALSE(find_invalid_utf8("é 🦙 \xE2\x80\x8B").has_value());
  EXPECT_EQ(find_invalid_utf8("abc\xC0\x80"), 3u);              // overlong
  EXPECT_EQ(find_invalid_utf8("ab\xED\xA0\x80"), 2u);           // surrogate
  EXPECT_EQ(find_invalid_utf8("\xF4\x90\x80\x80"), 0u);         // > U+10FFFF
  EXPECT_EQ(find_invalid_utf8("0123456789\xF0\x9F\x98"), 10u);  // truncated
  EXPECT_EQ(find_invalid_utf8("\x80"), 0u);
  EXPECT_TRUE(::dpok::testing::throws_with<FormatError>(
      [&] { require_valid_utf8("ok\xFF", "test"); }, {"invalid UTF-8 at byte 2 of 3 (byte 0xFF)"}));
}

TEST(Utf8, LossyReplacesMaximalSubparts) {
  EXPECT_EQ(utf8_lossy("a\xF0\x9F\x98z"),
            "a" + kFffd + "z");  // one U+FFFD for a truncated sequence
  EXPECT_EQ(utf8_lossy("\xC0\x80"), kFffd + kFffd);
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), kFffd + kFffd + kFffd);
  EXPECT_EQ(utf8_lossy("é🦙"), "é🦙");
}

TEST(Utf8, CodePoints) {
  const std::string s = "aé€🦙";
  size_t pos = 0;
  EXPECT_EQ(next_code_point(s, pos), U'a');
  EXPECT_EQ(next_code_point(s, pos), U'é');
  EXPECT_EQ(next_code_point(s, pos), U'€');
  EXPECT_EQ(next_code_point(s, pos), U'🦙');
  EXPECT_EQ(pos, s.size());
  std::string out;
  for (const char32_t cp : {U'a', U'é', U'€', U'🦙'}) append_utf8(out, cp);
  EXPECT_EQ(out, s);
}

TEST(Utf8, ByteLevelTableIsGpt2) {
  const ByteLevelTable& table = ByteLevelTable::instance();
  EXPECT_EQ(table.encode(' '), "Ġ");
  EXPECT_EQ(table.encode('\n'), "Ċ");
  EXPECT_EQ(table.encode('A'), "A");
  EXPECT_EQ(table.encode(0xAD), "Ń");
  for (int b = 0; b < 256; ++b) {
    const std::string& text = table.encode(static_cast<uint8_t>(b));
    size_t pos = 0;
    EXPECT_EQ(table.decode(next_code_point(text, pos)), b);
  }
  EXPECT_EQ(table.decode(U'€'), -1);
}

}  // namespace
}  // namespace dpok::text
