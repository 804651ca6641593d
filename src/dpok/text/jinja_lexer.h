// Jinja lexer: splits a chat template into text and tag tokens the way jinja2 3.x does.
//
// Reproduces jinja2's lexer with transformers' settings (trim_blocks=True, lstrip_blocks=True,
// keep_trailing_newline=False): newlines are normalised to "\n" and one trailing newline is
// dropped; `{%-`/`-%}` (and the same for `{{ }}`, `{# #}`) strip all adjacent whitespace; `+`
// disables lstrip/trim; trim_blocks removes the first newline after `%}`/`#}`; lstrip_blocks
// removes spaces and tabs before `{%`/`{#` at the start of a line. Comments are dropped, `{% raw
// %}` bodies become text. Inside tags it produces names, numbers, strings (Python escapes decoded)
// and operators; `}}`/`%}` only close a tag outside brackets, as in jinja2. Does not implement line
// statements or custom delimiters. Throws dpok::FormatError "[chat_template] line L, column C: ..."
// on malformed input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dpok::text::jinja {

enum class TokenType : uint8_t {
  kText,
  kVariableBegin,  // {{
  kVariableEnd,    // }}
  kBlockBegin,     // {%
  kBlockEnd,       // %}
  kName,
  kString,
  kInteger,
  kFloat,
  kOperator,
  kEnd  // end of the template
};

struct Token {
  TokenType type;
  std::string value;  // text, name, decoded string, or operator spelling
  int64_t integer = 0;
  double number = 0.0;
  int line = 1;
  int column = 1;
};

// Tokenizes the whole template; the last token is kEnd.
std::vector<Token> tokenize(std::string_view source);

// "[chat_template] line L, column C: message" as a FormatError (shared with the parser).
[[noreturn]] void throw_syntax_error(int line, int column, const std::string& message);

}  // namespace dpok::text::jinja
