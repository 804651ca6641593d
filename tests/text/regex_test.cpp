// PCRE2 wrapper: Unicode classes, lookahead, Oniguruma-style empty matches, long inputs.
#include "dpok/text/regex.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok::text {
namespace {

std::vector<std::string> matches(const Regex& re, const std::string& s) {
  std::vector<ByteRange> ranges;
  re.find_all(s, ranges);
  std::vector<std::string> out;
  for (const auto& [b, e] : ranges) out.push_back(s.substr(b, e - b));
  return out;
}

TEST(Regex, UnicodeClassesAndLookahead) {
  const Regex re(R"(\p{L}+|\p{N}|\s+(?!\S)|\s+)", "test");
  EXPECT_EQ(matches(re, "héllo 42   x"),
            (std::vector<std::string>{"héllo", " ", "4", "2", "  ", " ", "x"}));
  const Regex ci("(?i:'s|'ll)", "test");
  EXPECT_EQ(matches(ci, "it'S we'LL"), (std::vector<std::string>{"'S", "'LL"}));
}

TEST(Regex, EmptyMatchesAdvanceOneCharacter) {
  const Regex re("x*", "test");
  // Oniguruma's iterator: "", "xx" at 1, then an empty match right after it is skipped.
  EXPECT_EQ(matches(re, "éxxé"), (std::vector<std::string>{"", "xx", ""}));
}

TEST(Regex, LongWhitespaceRunsDoNotOverflow) {
  const Regex re(R"(\s+(?!\S)|\s+)", "test");
  const std::string s(1 << 20, ' ');
  EXPECT_EQ(matches(re, s + "a").size(), 2u);
}

TEST(Regex, BadPatternNamesWhere) {
  EXPECT_TRUE(::dpok::testing::throws_with<FormatError>(
      [] { Regex bad("(?<", "tokenizer.json at /pre_tokenizer/pattern/Regex"); },
      {"tokenizer.json at /pre_tokenizer/pattern/Regex: regex /(?</"}));
}

TEST(Regex, Literal) {
  std::vector<ByteRange> out;
  find_all_literal("a--b---c", "--", out);
  EXPECT_EQ(out, (std::vector<ByteRange>{{1, 3}, {4, 6}}));
  out.clear();
  find_all_literal("abc", "", out);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace dpok::text
