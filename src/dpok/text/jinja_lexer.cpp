// Jinja lexer: jinja2 3.x tokenization with trim_blocks and lstrip_blocks (see jinja_lexer.h).
#include "dpok/text/jinja_lexer.h"

#include <algorithm>
#include <limits>

#include "dpok/core/error.h"
#include "dpok/text/jinja_value.h"

namespace dpok::text::jinja {

void throw_syntax_error(int line, int column, const std::string& message) {
  DPOK_THROW(FormatError, "chat_template", "line {}, column {}: {}", line, column, message);
}

namespace {

constexpr size_t npos = std::string::npos;

// jinja2 splits the source on \r\n, \r and \n, joins with \n and drops one trailing newline
// (keep_trailing_newline=False).
std::string normalize_newlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) : src_(normalize_newlines(source)) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      const size_t tag = find_tag(pos_);
      if (tag == npos) {
        emit_text(src_.substr(pos_), pos_);
        break;
      }
      lex_directive(tag);
    }
    push(TokenType::kEnd, "", src_.size());
    return std::move(out_);
  }

 private:
  std::string src_;
  size_t pos_ = 0;
  bool line_starting_ = true;  // jinja2: the previous match ended with a newline
  std::vector<size_t> line_starts_;
  std::vector<Token> out_;
  mutable size_t cached_offset_ = 0;  // locate()'s last answer
  mutable int cached_column_ = 1;

  // Line and column (in code points) of `offset`. Tokens arrive in order, so the column count
  // resumes from the previous token on the same line (a long one-line template stays linear).
  void locate(size_t offset, int& line, int& column) const {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const size_t start = *(it - 1);
    line = static_cast<int>(it - line_starts_.begin());
    size_t from = start;
    column = 1;
    if (cached_offset_ >= start && cached_offset_ <= offset) {
      from = cached_offset_;
      column = cached_column_;
    }
    for (size_t i = from; i < offset && i < src_.size(); ++i) {
      if ((static_cast<unsigned char>(src_[i]) & 0xc0) != 0x80) ++column;
    }
    cached_offset_ = offset;
    cached_column_ = column;
  }

  [[noreturn]] void fail(size_t offset, const std::string& message) const {
    int line = 0;
    int column = 0;
    locate(offset, line, column);
    throw_syntax_error(line, column, message);
  }

  Token& push(TokenType type, std::string value, size_t offset) {
    Token t{type, std::move(value)};
    locate(offset, t.line, t.column);
    out_.push_back(std::move(t));
    return out_.back();
  }

  void emit_text(std::string text, size_t offset) {
    if (!text.empty()) push(TokenType::kText, std::move(text), offset);
  }

  bool starts(size_t p, std::string_view s) const { return src_.compare(p, s.size(), s) == 0; }

  size_t skip_space(size_t p) const {
    while (p < src_.size()) {
      size_t q = p;
      if (!is_python_space(utf8_next(src_, q))) break;
      p = q;
    }
    return p;
  }

  size_t find_tag(size_t from) const {
    for (size_t p = src_.find('{', from); p != npos; p = src_.find('{', p + 1)) {
      if (p + 1 < src_.size() && (src_[p + 1] == '{' || src_[p + 1] == '%' || src_[p + 1] == '#')) {
        return p;
      }
    }
    return npos;
  }

  // jinja2's OptionalLStrip: `-` strips all trailing whitespace of the text before a tag;
  // otherwise lstrip_blocks removes the whitespace between the last line start and a block tag.
  std::string strip_before_tag(std::string text, char sign, bool lstrip_allowed) const {
    if (sign == '-') return python_strip(text, false, true);
    if (sign == '+' || !lstrip_allowed) return text;
    const size_t nl = text.rfind('\n');
    const size_t l_pos = nl == npos ? 0 : nl + 1;
    if ((l_pos > 0 || line_starting_) && l_pos < text.size()) {
      const std::u32string tail = utf8_decode(std::string_view(text).substr(l_pos));
      if (std::all_of(tail.begin(), tail.end(), is_python_space)) text.resize(l_pos);
    }
    return text;
  }

  // `{% raw %}` (with optional -/+ and whitespace); returns the offset after it, or npos.
  size_t match_raw_begin(size_t p) const {
    p = skip_space(p);
    if (!starts(p, "raw")) return npos;
    p = skip_space(p + 3);
    if (starts(p, "-%}")) return skip_space(p + 3);
    if (starts(p, "%}")) return p + 2;
    return npos;
  }

  void lex_directive(size_t tag) {
    const char kind = src_[tag + 1];
    size_t p = tag + 2;
    char sign = 0;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
    const size_t raw_end = kind == '%' ? match_raw_begin(p) : npos;
    emit_text(strip_before_tag(src_.substr(pos_, tag - pos_), sign, kind != '{'), pos_);
    line_starting_ = false;
    if (raw_end != npos) {
      line_starting_ = src_[raw_end - 1] == '\n';
      lex_raw(raw_end, tag);
    } else if (kind == '#') {
      lex_comment(p, tag);
    } else {
      lex_tag(kind, p, tag);
    }
  }

  void lex_raw(size_t p, size_t tag) {
    for (size_t q = src_.find("{%", p); q != npos; q = src_.find("{%", q + 1)) {
      size_t r = q + 2;
      char sign = 0;
      if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) sign = src_[r++];
      r = skip_space(r);
      if (!starts(r, "endraw")) continue;
      r = skip_space(r + 6);
      size_t end = npos;
      if (starts(r, "+%}")) {
        end = r + 3;
      } else if (starts(r, "-%}")) {
        end = skip_space(r + 3);
      } else if (starts(r, "%}")) {
        end = r + 2 + (starts(r + 2, "\n") ? 1 : 0);
      }
      if (end == npos) continue;
      emit_text(strip_before_tag(src_.substr(p, q - p), sign, true), p);
      line_starting_ = src_[end - 1] == '\n';
      pos_ = end;
      return;
    }
    fail(tag, "missing end of raw directive");
  }

  void lex_comment(size_t p, size_t tag) {
    const size_t j = src_.find("#}", p);
    if (j == npos) fail(tag, "missing end of comment tag");
    size_t end = j + 2;
    if (j > p && src_[j - 1] == '-') {
      end = skip_space(end);
    } else if (!(j > p && src_[j - 1] == '+') && starts(end, "\n")) {
      ++end;  // trim_blocks
    }
    line_starting_ = src_[end - 1] == '\n';
    pos_ = end;
  }

  // The end of the current tag at p, or npos.
  size_t match_tag_end(char kind, size_t p) const {
    if (kind == '%') {
      if (starts(p, "+%}")) return p + 3;
      if (starts(p, "-%}")) return skip_space(p + 3);
      if (starts(p, "%}")) return p + 2 + (starts(p + 2, "\n") ? 1 : 0);
    } else {
      if (starts(p, "-}}")) return skip_space(p + 3);
      if (starts(p, "}}")) return p + 2;
    }
    return npos;
  }

  void lex_tag(char kind, size_t p, size_t tag) {
    push(kind == '%' ? TokenType::kBlockBegin : TokenType::kVariableBegin, "", tag);
    std::string brackets;
    while (true) {
      if (p >= src_.size()) fail(tag, "unexpected end of template, the tag is not closed");
      if (brackets.empty()) {
        const size_t end = match_tag_end(kind, p);
        if (end != npos) {
          push(kind == '%' ? TokenType::kBlockEnd : TokenType::kVariableEnd, "", p);
          line_starting_ = src_[end - 1] == '\n';
          pos_ = end;
          return;
        }
      }
      const char c = src_[p];
      size_t q = p;
      if (is_python_space(utf8_next(src_, q))) {
        p = q;
      } else if (is_digit(c)) {
        p = lex_number(p);
      } else if (is_name_start(c)) {
        size_t e = p;
        while (e < src_.size() && (is_name_start(src_[e]) || is_digit(src_[e]))) ++e;
        push(TokenType::kName, src_.substr(p, e - p), p);
        p = e;
      } else if (c == '\'' || c == '"') {
        p = lex_string(p);
      } else {
        p = lex_operator(p, brackets);
      }
    }
  }

  size_t lex_operator(size_t p, std::string& brackets) {
    static constexpr std::string_view kTwo[] = {"//", "**", "==", "!=", ">=", "<="};
    for (std::string_view op : kTwo) {
      if (starts(p, op)) {
        push(TokenType::kOperator, std::string(op), p);
        return p + 2;
      }
    }
    const char c = src_[p];
    if (std::string_view("+-/*%~[](){}><=.:|,;").find(c) == std::string_view::npos) {
      size_t q = p;
      const char32_t cp = utf8_next(src_, q);
      std::string shown;
      utf8_append(shown, cp);
      fail(p, "unexpected char '" + shown + "'");
    }
    if (c == '(' || c == '[' || c == '{') {
      brackets += c == '(' ? ')' : c == '[' ? ']' : '}';
    } else if (c == ')' || c == ']' || c == '}') {
      if (brackets.empty()) fail(p, std::string("unexpected '") + c + "'");
      if (brackets.back() != c) {
        fail(p, std::string("unexpected '") + c + "', expected '" + brackets.back() + "'");
      }
      brackets.pop_back();
    }
    push(TokenType::kOperator, std::string(1, c), p);
    return p + 1;
  }

  // Digits with single underscores between them, as jinja2's integer/float regexes allow.
  size_t scan_digits(size_t p, std::string& digits, int base) const {
    while (p < src_.size()) {
      const char c = src_[p];
      const int v = hex_value(c);
      if (v >= 0 && v < base) {
        digits += c;
        ++p;
      } else if (c == '_' && !digits.empty() && p + 1 < src_.size() &&
                 hex_value(src_[p + 1]) >= 0 && hex_value(src_[p + 1]) < base) {
        ++p;
      } else {
        break;
      }
    }
    return p;
  }

  size_t lex_number(size_t start) {
    std::string digits;
    int base = 10;
    size_t p = start;
    if (src_[p] == '0' && p + 1 < src_.size() &&
        std::string_view("xXoObB").find(src_[p + 1]) != npos) {
      const char b = static_cast<char>(src_[p + 1] | 0x20);
      base = b == 'x' ? 16 : b == 'o' ? 8 : 2;
      p += 2;
      if (p < src_.size() && src_[p] == '_') ++p;
    }
    p = scan_digits(p, digits, base);
    if (digits.empty()) fail(start, "invalid integer literal");
    bool is_float = false;
    const bool after_dot = start > 0 && src_[start - 1] == '.';
    if (base == 10 && !after_dot) {
      if (p + 1 < src_.size() && src_[p] == '.' && is_digit(src_[p + 1])) {
        digits += '.';
        p = scan_digits(p + 1, digits, 10);
        is_float = true;
      }
      size_t e = p;
      if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
        std::string exponent = "e";
        ++e;
        if (e < src_.size() && (src_[e] == '+' || src_[e] == '-')) exponent += src_[e++];
        if (e < src_.size() && is_digit(src_[e])) {
          p = scan_digits(e, exponent, 10);
          digits += exponent;
          is_float = true;
        }
      }
    }
    if (is_float) {
      push(TokenType::kFloat, digits, start).number = std::strtod(digits.c_str(), nullptr);
      return p;
    }
    if (base == 10 && digits.size() > 1 && digits[0] == '0' &&
        digits.find_first_not_of('0') != npos) {
      fail(start, "invalid integer literal '" + digits + "' (leading zeros)");
    }
    int64_t value = 0;
    for (char c : digits) {
      const int v = hex_value(c);
      if (value > (std::numeric_limits<int64_t>::max() - v) / base) {
        fail(start, "integer literal too large for 64 bits");
      }
      value = value * base + v;
    }
    push(TokenType::kInteger, digits, start).integer = value;
    return p;
  }

  size_t lex_string(size_t start) {
    const char quote = src_[start];
    size_t p = start + 1;
    while (p < src_.size() && src_[p] != quote) p += src_[p] == '\\' ? 2 : 1;
    if (p >= src_.size()) fail(start, "unterminated string literal");
    push(TokenType::kString, decode_escapes(start + 1, p), start);
    return p + 1;
  }

  // Python's "unicode-escape" decoding, which jinja2 applies to string literals.
  std::string decode_escapes(size_t begin, size_t end) const {
    std::string out;
    size_t p = begin;
    while (p < end) {
      if (src_[p] != '\\' || p + 1 >= end) {
        out += src_[p++];
        continue;
      }
      const char e = src_[p + 1];
      p += 2;
      switch (e) {
        case '\n':
          break;
        case '\\':
          out += '\\';
          break;
        case '\'':
          out += '\'';
          break;
        case '"':
          out += '"';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'v':
          out += '\v';
          break;
        case 'x':
        case 'u':
        case 'U': {
          const int width = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t code = 0;
          for (int k = 0; k < width; ++k, ++p) {
            if (p >= end || hex_value(src_[p]) < 0) {
              fail(p, std::string("truncated \\") + e + " escape in string literal");
            }
            code = code * 16 + static_cast<uint32_t>(hex_value(src_[p]));
          }
          if (code > 0x10ffff) fail(p, "illegal Unicode character in string literal");
          utf8_append(out, (code >= 0xd800 && code <= 0xdfff) ? 0xfffd : code);
          break;
        }
        case 'N':
          fail(p, "\\N{...} escapes are not supported in string literals");
        default:
          if (e >= '0' && e <= '7') {
            uint32_t code = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && p < end && src_[p] >= '0' && src_[p] <= '7'; ++k, ++p) {
              code = code * 8 + static_cast<uint32_t>(src_[p] - '0');
            }
            utf8_append(out, code);
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    return out;
  }
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) {
  return Lexer(source).run();
}

}  // namespace dpok::text::jinja
