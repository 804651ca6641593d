// Added-token matching: leftmost-longest, single_word, lstrip/rstrip, special skipping.
#include "dpok/text/added_tokens.h"

#include <gtest/gtest.h>

namespace dpok::text {
namespace {

std::vector<std::string> describe(const AddedTokenMatcher& m, const std::string& text,
                                  bool parse_special = true) {
  std::vector<std::string> out;
  for (const AddedSplit& s : m.split(text, parse_special)) {
    out.push_back((s.token >= 0 ? std::to_string(s.token) + ":" : std::string()) + "[" +
                  text.substr(s.begin, s.end - s.begin) + "]");
  }
  return out;
}

AddedToken token(const std::string& content, int32_t id) {
  AddedToken t;
  t.content = content;
  t.id = id;
  return t;
}

AddedTokenMatcher matcher(const std::vector<AddedToken>& tokens) {
  std::vector<std::string> patterns;
  for (const auto& t : tokens) patterns.push_back(t.content);
  return AddedTokenMatcher(tokens, patterns);
}

using Strings = std::vector<std::string>;

TEST(AddedTokens, LeftmostLongest) {
  const auto m = matcher({token("<a>", 1), token("<a><b>", 2), token("b>", 3)});
  EXPECT_EQ(describe(m, "x<a><b>y<a>"), (Strings{"[x]", "2:[<a><b>]", "[y]", "1:[<a>]"}));
  EXPECT_EQ(describe(m, ""), (Strings{}));
}

TEST(AddedTokens, SpecialSkippedWithoutParsing) {
  AddedToken special = token("<s>", 1);
  special.special = true;
  const auto m = matcher({special, token("<t>", 2)});
  EXPECT_EQ(describe(m, "a<s>b<t>", false), (Strings{"[a<s>b]", "2:[<t>]"}));
  EXPECT_EQ(describe(m, "a<s>b<t>", true), (Strings{"[a]", "1:[<s>]", "[b]", "2:[<t>]"}));
}

TEST(AddedTokens, StripAndSingleWord) {
  AddedToken mask = token("<mask>", 4);
  mask.lstrip = true;
  mask.rstrip = true;
  EXPECT_EQ(describe(matcher({mask}), "a  <mask>\u3000 b"),
            (Strings{"[a]", "4:[  <mask>\u3000 ]", "[b]"}));
  AddedToken word = token("ab", 5);
  word.single_word = true;
  EXPECT_EQ(describe(matcher({word}), "ab cab ab_ ab."),
            (Strings{"5:[ab]", "[ cab ab_ ]", "5:[ab]", "[.]"}));
}

}  // namespace
}  // namespace dpok::text
