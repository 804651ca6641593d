// Jinja lexer: whitespace control, trim/lstrip, raw and comments, token positions, errors.
#include "dpok/text/jinja_lexer.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok::text::jinja {
namespace {

// Concatenated text tokens: what the template prints when it has no expressions.
std::string text_of(const std::string& source) {
  std::string out;
  for (const Token& t : tokenize(source)) {
    if (t.type == TokenType::kText) out += t.value;
  }
  return out;
}

TEST(JinjaLexer, TrimAndLstripBlocks) {
  EXPECT_EQ(text_of("a\n  {% if x %}\n  b\n  {% endif %}\nc"), "a\n  b\nc");
  EXPECT_EQ(text_of("a  {% if x %}b"), "a  b");       // not at line start: kept
  EXPECT_EQ(text_of("  {{ x }}\n"), "  ");            // expressions are never stripped
  EXPECT_EQ(text_of("{# c #}\nx"), "x");              // comments trim their newline too
  EXPECT_EQ(text_of("a\n\t{%+ if x %}b"), "a\n\tb");  // + keeps the indentation
  EXPECT_EQ(text_of("{% if x +%}\nb"), "\nb");        // +%} keeps the newline
  EXPECT_EQ(text_of("a\r\nb\rc\n"), "a\nb\nc");       // newlines normalised, one trailing dropped
}

TEST(JinjaLexer, MinusStripsAllWhitespace) {
  EXPECT_EQ(text_of("a \n\t {%- if x -%} \n\n b"), "ab");
  EXPECT_EQ(text_of("a  {{- x -}}  b"), "ab");
  EXPECT_EQ(text_of("a \u3000{#- c -#}\u00a0 b"), "ab");  // Python's Unicode whitespace
}

TEST(JinjaLexer, RawBlocksAreText) {
  EXPECT_EQ(text_of("{% raw %}{{ x }}{% if %}{% endraw %}"), "{{ x }}{% if %}");
  EXPECT_EQ(text_of("{%- raw -%}  a  {%- endraw %}\nb"), "ab");
}

TEST(JinjaLexer, TokensAndPositions) {
  const auto tokens = tokenize("ab\n{{ x.y[0] + 1.5e3 ~ 'q\\n' }}");
  ASSERT_GE(tokens.size(), 12u);
  EXPECT_EQ(tokens[1].type, TokenType::kVariableBegin);
  EXPECT_EQ(tokens[1].line, 2);
  EXPECT_EQ(tokens[1].column, 1);
  EXPECT_EQ(tokens[2].value, "x");
  EXPECT_EQ(tokens[2].column, 4);
  EXPECT_EQ(tokens[6].type, TokenType::kInteger);
  EXPECT_EQ(tokens[9].type, TokenType::kFloat);
  EXPECT_DOUBLE_EQ(tokens[9].number, 1500.0);
  EXPECT_EQ(tokens[11].type, TokenType::kString);
  EXPECT_EQ(tokens[11].value, "q\n");
  EXPECT_EQ(tokens.back().type, TokenType::kEnd);
}

TEST(JinjaLexer, StringEscapesFollowPython) {
  const auto tokens = tokenize(R"({{ '\x41\u00e9\U0001F600\101\q\'' }})");
  EXPECT_EQ(tokens[1].value, "Aé😀A\\q'");
}

TEST(JinjaLexer, ClosingBracesInsideBracketsDoNotEndTheTag) {
  const auto tokens = tokenize("{{ {'a': {'b': 1}}}}x");
  EXPECT_EQ(tokens[tokens.size() - 3].type, TokenType::kVariableEnd);
  EXPECT_EQ(tokens[tokens.size() - 2].value, "x");
}

TEST(JinjaLexer, ErrorsNameLineAndColumn) {
  auto message = [](const std::string& source) {
    return ::dpok::testing::error_of<FormatError>([&] { tokenize(source); });
  };
  EXPECT_EQ(message("x\n  {{ a ) }}"), "[chat_template] line 2, column 8: unexpected ')'");
  EXPECT_EQ(message("{{ [1, 2) }}"),
            "[chat_template] line 1, column 9: unexpected ')', expected ']'");
  EXPECT_EQ(message("{{ 'open }}"),
            "[chat_template] line 1, column 4: unterminated string literal");
  EXPECT_EQ(message("{{ a $ b }}"), "[chat_template] line 1, column 6: unexpected char '$'");
  EXPECT_EQ(message("{{ a"),
            "[chat_template] line 1, column 1: unexpected end of template, the tag is not closed");
  EXPECT_EQ(message("{{ 99999999999999999999 }}"),
            "[chat_template] line 1, column 4: integer literal too large for 64 bits");
}

}  // namespace
}  // namespace dpok::text::jinja
