// Normalizers (see normalizer.h).
#include "dpok/text/normalizer.h"

#include <vector>

#include "dpok/core/error.h"
#include "dpok/text/regex.h"
#include "dpok/text/unicode.h"
#include "dpok/text/utf8.h"

namespace dpok::text {
namespace {

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalForm form) : form_(form) {}
  std::string normalize(std::string text) const override { return normalize_unicode(text, form_); }

 private:
  NormalForm form_;
};

class LowercaseNormalizer final : public Normalizer {
 public:
  std::string normalize(std::string text) const override { return lowercase(text); }
};

// Strips White_Space characters from the left and/or right end.
class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  std::string normalize(std::string text) const override {
    size_t begin = 0;
    size_t end = text.size();
    if (left_) {
      size_t pos = 0;
      while (pos < end) {
        size_t next = pos;
        if (!is_whitespace(next_code_point(text, next))) break;
        begin = pos = next;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t start = end - 1;
        while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
        size_t pos = start;
        if (!is_whitespace(next_code_point(text, pos))) break;
        end = start;
      }
    }
    return text.substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

// Prepends a string to non-empty text.
class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string normalize(std::string text) const override {
    return text.empty() ? text : prefix_ + text;
  }

 private:
  std::string prefix_;
};

// Replaces every occurrence of a literal string or a regex with `content`.
class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(std::string literal, std::unique_ptr<Regex> regex, std::string content)
      : literal_(std::move(literal)), regex_(std::move(regex)), content_(std::move(content)) {}
  std::string normalize(std::string text) const override {
    std::vector<ByteRange> matches;
    if (regex_) {
      regex_->find_all(text, matches);
    } else {
      find_all_literal(text, literal_, matches);
    }
    if (matches.empty()) return text;
    std::string out;
    out.reserve(text.size());
    size_t prev = 0;
    for (const auto& [begin, end] : matches) {
      out.append(text, prev, begin - prev);
      out.append(content_);
      prev = end;
    }
    out.append(text, prev, std::string::npos);
    return out;
  }

 private:
  std::string literal_;
  std::unique_ptr<Regex> regex_;
  std::string content_;
};

// tokenizers' is_chinese_char: the CJK Unified Ideographs block, its extensions A to E and the
// compatibility ideographs, with the same bounds (the gap 0x2B820-0x2B91F included).
bool is_cjk_ideograph(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// BERT's text cleanup, as tokenizers' BertNormalizer runs it: clean_text, handle_chinese_chars,
// strip_accents, lowercase, in that order.
class BertNormalizer final : public Normalizer {
 public:
  struct Options {
    bool clean_text = true;
    bool handle_chinese_chars = true;
    bool strip_accents = true;
    bool lowercase = true;
  };
  explicit BertNormalizer(Options options) : options_(options) {}
  std::string normalize(std::string text) const override {
    if (options_.clean_text || options_.handle_chinese_chars) text = clean(text);
    if (options_.strip_accents) text = strip_accents(normalize_unicode(text, NormalForm::kNFD));
    if (options_.lowercase) text = lowercase(text);
    return text;
  }

 private:
  // clean_text drops NUL, U+FFFD and the Cc/Cf/Co characters except \t \n \r (these count as
  // whitespace), then turns whitespace into ' '; handle_chinese_chars puts spaces around
  // ideographs so that the pre-tokenizer makes each one a word of its own.
  std::string clean(std::string_view text) const {
    std::string out;
    out.reserve(text.size());
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t begin = pos;
      const char32_t cp = next_code_point(text, pos);
      if (options_.clean_text) {
        const bool control = cp != '\t' && cp != '\n' && cp != '\r' && is_category_other(cp);
        if (cp == 0 || cp == 0xFFFD || control) continue;
        if (is_whitespace(cp)) {
          out.push_back(' ');
          continue;
        }
      }
      if (options_.handle_chinese_chars && is_cjk_ideograph(cp)) {
        out.push_back(' ');
        out.append(text, begin, pos - begin);
        out.push_back(' ');
        continue;
      }
      out.append(text, begin, pos - begin);
    }
    return out;
  }
  static std::string strip_accents(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t begin = pos;
      if (!is_nonspacing_mark(next_code_point(text, pos))) out.append(text, begin, pos - begin);
    }
    return out;
  }

  Options options_;
};

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
      : steps_(std::move(steps)) {}
  std::string normalize(std::string text) const override {
    for (const auto& step : steps_) text = step->normalize(std::move(text));
    return text;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& spec, const JsonPath& path) {
  const std::string type = json_string(json_require(spec, "type", path), path.child("type"));
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormalForm::kNFC);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormalForm::kNFD);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormalForm::kNFKC);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormalForm::kNFKD);
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "Strip") {
    return std::make_unique<StripNormalizer>(json_bool_or(spec, "strip_left", path, true),
                                             json_bool_or(spec, "strip_right", path, true));
  }
  if (type == "Prepend") {
    return std::make_unique<PrependNormalizer>(
        json_string(json_require(spec, "prepend", path), path.child("prepend")));
  }
  if (type == "Replace") {
    const nlohmann::json& pattern = json_require(spec, "pattern", path);
    const JsonPath pattern_path = path.child("pattern");
    std::string content = json_string(json_require(spec, "content", path), path.child("content"));
    if (const nlohmann::json* s = json_find(pattern, "String", pattern_path)) {
      return std::make_unique<ReplaceNormalizer>(json_string(*s, pattern_path.child("String")),
                                                 nullptr, std::move(content));
    }
    const JsonPath regex_path = pattern_path.child("Regex");
    const std::string regex = json_string(json_require(pattern, "Regex", pattern_path), regex_path);
    return std::make_unique<ReplaceNormalizer>(
        "", std::make_unique<Regex>(regex, regex_path.where()), std::move(content));
  }
  if (type == "BertNormalizer") {
    BertNormalizer::Options options;
    options.clean_text = json_bool_or(spec, "clean_text", path, true);
    options.handle_chinese_chars = json_bool_or(spec, "handle_chinese_chars", path, true);
    options.lowercase = json_bool_or(spec, "lowercase", path, true);
    // null (the usual value) strips accents exactly when lowercasing, as BERT's uncased models do.
    options.strip_accents = json_bool_or(spec, "strip_accents", path, options.lowercase);
    return std::make_unique<BertNormalizer>(options);
  }
  if (type == "Sequence") {
    const nlohmann::json& list = json_require(spec, "normalizers", path);
    json_require_array(list, path.child("normalizers"));
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (size_t i = 0; i < list.size(); ++i) {
      steps.push_back(make_normalizer(list[i], path.child("normalizers").child(i)));
    }
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  DPOK_THROW(UnsupportedError, "tokenizer", "{}: normalizer type \"{}\" is not supported",
             path.where(), type);
}

}  // namespace dpok::text
