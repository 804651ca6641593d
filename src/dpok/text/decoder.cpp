// Decoders (see decoder.h).
#include "dpok/text/decoder.h"

#include <string_view>
#include <utility>

#include "dpok/core/error.h"
#include "dpok/text/regex.h"
#include "dpok/text/utf8.h"

namespace dpok::text {
namespace {

// Replaces the byte ranges `matches` (sorted, non-overlapping) of `text` with `content`.
void replace_ranges(std::string& text, const std::vector<ByteRange>& matches,
                    std::string_view content) {
  if (matches.empty()) return;
  std::string out;
  size_t prev = 0;
  for (const auto& [begin, end] : matches) {
    out.append(text, prev, begin - prev);
    out += content;
    prev = end;
  }
  out.append(text, prev, std::string::npos);
  text = std::move(out);
}

// Maps each character back to its byte (characters outside the table keep their own UTF-8
// bytes for the whole token) and decodes the concatenation lossily, as tokenizers does.
class ByteLevelDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    const ByteLevelTable& table = ByteLevelTable::instance();
    std::string bytes;
    std::string token_bytes;
    for (const std::string& token : tokens) {
      token_bytes.clear();
      bool mapped = true;
      size_t pos = 0;
      while (pos < token.size()) {
        const int b = table.decode(next_code_point(token, pos));
        if (b < 0) {
          mapped = false;
          break;
        }
        token_bytes.push_back(static_cast<char>(b));
      }
      bytes += mapped ? token_bytes : token;
    }
    tokens.assign(1, utf8_lossy(bytes));
  }
};

// Replacement character -> space; on the first token it is dropped unless prepend_scheme is never.
class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(char32_t replacement, bool strip_first) : strip_first_(strip_first) {
    append_utf8(replacement_, replacement);
  }
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      const std::string& token = tokens[i];
      size_t prev = 0;
      for (size_t at = token.find(replacement_); at != std::string::npos;
           at = token.find(replacement_, prev)) {
        out.append(token, prev, at - prev);
        if (!(i == 0 && strip_first_)) out.push_back(' ');
        prev = at + replacement_.size();
      }
      out.append(token, prev, std::string::npos);
      tokens[i] = std::move(out);
    }
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

// Runs of <0xNN> tokens become their bytes when valid UTF-8, else one U+FFFD per byte.
class ByteFallbackDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string pending;
    const auto flush = [&] {
      if (pending.empty()) return;
      if (!find_invalid_utf8(pending)) {
        out.push_back(pending);
      } else {
        for (size_t k = 0; k < pending.size(); ++k) out.emplace_back("\xEF\xBF\xBD");
      }
      pending.clear();
    };
    for (std::string& token : tokens) {
      if (const int byte = parse_byte_token(token); byte >= 0) {
        pending.push_back(static_cast<char>(byte));
        continue;
      }
      flush();
      out.push_back(std::move(token));
    }
    flush();
    tokens.swap(out);
  }

 private:
  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  static int parse_byte_token(const std::string& t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
    const int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }
};

class FuseDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string joined;
    for (const std::string& t : tokens) joined += t;
    tokens.assign(1, std::move(joined));
  }
};

// Removes up to `start` leading and `stop` trailing occurrences of one character per token.
class StripDecoder final : public Decoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop)
      : content_(content), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& token : tokens) {
      std::u32string chars;
      size_t pos = 0;
      while (pos < token.size()) chars.push_back(next_code_point(token, pos));
      size_t begin = 0;
      while (begin < start_ && begin < chars.size() && chars[begin] == content_) ++begin;
      size_t end = chars.size();
      for (size_t k = 0; k < stop_ && end > begin && chars[end - 1] == content_; ++k) --end;
      std::string out;
      for (size_t k = begin; k < end; ++k) append_utf8(out, chars[k]);
      token = std::move(out);
    }
  }

 private:
  char32_t content_;
  size_t start_, stop_;
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(std::string literal, std::unique_ptr<Regex> regex, std::string content)
      : literal_(std::move(literal)), regex_(std::move(regex)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<ByteRange> matches;
    for (std::string& token : tokens) {
      matches.clear();
      regex_ ? regex_->find_all(token, matches) : find_all_literal(token, literal_, matches);
      replace_ranges(token, matches, content_);
    }
  }

 private:
  std::string literal_;
  std::unique_ptr<Regex> regex_;
  std::string content_;
};

// Words are joined with spaces and continuation pieces ("##ing") glued to the previous token.
// cleanup undoes BERT's spacing around punctuation and contractions, token by token as
// tokenizers does (so patterns spanning two tokens, like " do not", never match).
class WordPieceDecoder final : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup)
      : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& token = tokens[i];
      if (i != 0) {
        if (token.starts_with(prefix_)) {
          token.erase(0, prefix_.size());
        } else {
          token.insert(0, 1, ' ');
        }
      }
      if (cleanup_) cleanup(token);
    }
  }

 private:
  // tokenizers' wordpiece::cleanup, applied in this order.
  static constexpr std::pair<std::string_view, std::string_view> kCleanups[] = {
      {" .", "."},   {" ?", "?"},     {" !", "!"},    {" ,", ","},
      {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},  {" do not", " don't"},
      {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};

  static void cleanup(std::string& token) {
    std::vector<ByteRange> matches;
    for (const auto& [from, to] : kCleanups) {
      matches.clear();
      find_all_literal(token, from, matches);
      replace_ranges(token, matches, to);
    }
  }

  std::string prefix_;
  bool cleanup_;
};

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps)
      : steps_(std::move(steps)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& step : steps_) step->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

size_t json_count(const nlohmann::json& spec, const char* key, const JsonPath& path) {
  const int64_t value = json_int(json_require(spec, key, path), path.child(key));
  if (value < 0) {
    DPOK_THROW(FormatError, "tokenizer", "{}: expected a count >= 0, got {}",
               path.child(key).where(), value);
  }
  return static_cast<size_t>(value);
}

std::unique_ptr<Decoder> make_replace(const nlohmann::json& spec, const JsonPath& path) {
  const nlohmann::json& pattern = json_require(spec, "pattern", path);
  const JsonPath pattern_path = path.child("pattern");
  std::string content = json_string(json_require(spec, "content", path), path.child("content"));
  if (const nlohmann::json* s = json_find(pattern, "String", pattern_path)) {
    return std::make_unique<ReplaceDecoder>(json_string(*s, pattern_path.child("String")), nullptr,
                                            std::move(content));
  }
  const JsonPath regex_path = pattern_path.child("Regex");
  return std::make_unique<ReplaceDecoder>(
      "",
      std::make_unique<Regex>(json_string(json_require(pattern, "Regex", pattern_path), regex_path),
                              regex_path.where()),
      std::move(content));
}

}  // namespace

std::unique_ptr<Decoder> make_decoder(const nlohmann::json& spec, const JsonPath& path) {
  const std::string type = json_string(json_require(spec, "type", path), path.child("type"));
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Replace") return make_replace(spec, path);
  if (type == "Strip") {
    return std::make_unique<StripDecoder>(
        json_char(json_require(spec, "content", path), path.child("content")),
        json_count(spec, "start", path), json_count(spec, "stop", path));
  }
  if (type == "Metaspace") {
    const char32_t replacement =
        json_char(json_require(spec, "replacement", path), path.child("replacement"));
    bool strip_first = json_bool_or(spec, "add_prefix_space", path, true);
    if (const nlohmann::json* scheme = json_find(spec, "prepend_scheme", path)) {
      strip_first = json_string(*scheme, path.child("prepend_scheme")) != "never";
    }
    return std::make_unique<MetaspaceDecoder>(replacement, strip_first);
  }
  if (type == "WordPiece") {
    return std::make_unique<WordPieceDecoder>(json_string_or(spec, "prefix", path, "##"),
                                              json_bool_or(spec, "cleanup", path, true));
  }
  if (type == "Sequence") {
    const nlohmann::json& list = json_require(spec, "decoders", path);
    json_require_array(list, path.child("decoders"));
    std::vector<std::unique_ptr<Decoder>> steps;
    for (size_t i = 0; i < list.size(); ++i) {
      steps.push_back(make_decoder(list[i], path.child("decoders").child(i)));
    }
    return std::make_unique<SequenceDecoder>(std::move(steps));
  }
  DPOK_THROW(UnsupportedError, "tokenizer", "{}: decoder type \"{}\" is not supported",
             path.where(), type);
}

}  // namespace dpok::text
