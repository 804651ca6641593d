// Pre-tokenizers (see pre_tokenizer.h).
#include "dpok/text/pre_tokenizer.h"

#include <functional>

#include "dpok/core/error.h"
#include "dpok/text/unicode.h"
#include "dpok/text/utf8.h"

namespace dpok::text {

const char* const kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

struct Segment {
  size_t begin, end;
  bool is_match;
};

// The full cover of [0, size) by matches and the gaps between them (Pattern::find_matches).
std::vector<Segment> segments_of(size_t size, const std::vector<ByteRange>& matches, bool invert) {
  std::vector<Segment> segments;
  if (size == 0) return {{0, 0, false}};
  size_t prev = 0;
  for (const auto& [begin, end] : matches) {
    if (prev != begin) segments.push_back({prev, begin, invert});
    segments.push_back({begin, end, !invert});
    prev = end;
  }
  if (prev != size) segments.push_back({prev, size, invert});
  return segments;
}

// Merges segments per behaviour; returns ranges with a "remove" flag (only kRemoved sets it).
std::vector<Segment> apply_behavior(std::vector<Segment> segments, SplitBehavior behavior) {
  std::vector<Segment> out;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (auto& s : segments) out.push_back({s.begin, s.end, false});
      return out;
    case SplitBehavior::kRemoved:
      return segments;  // is_match doubles as "remove"
    case SplitBehavior::kMergedWithPrevious:
      for (const auto& s : segments) {
        if (s.is_match && !previous_match && !out.empty()) {
          out.back().end = s.end;
        } else {
          out.push_back({s.begin, s.end, false});
        }
        previous_match = s.is_match;
      }
      return out;
    case SplitBehavior::kMergedWithNext:
      for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
        if (it->is_match && !previous_match && !out.empty()) {
          out.back().begin = it->begin;
        } else {
          out.push_back({it->begin, it->end, false});
        }
        previous_match = it->is_match;
      }
      return {out.rbegin(), out.rend()};
    case SplitBehavior::kContiguous:
      for (const auto& s : segments) {
        if (s.is_match == previous_match && !out.empty()) {
          out.back().end = s.end;
        } else {
          out.push_back({s.begin, s.end, false});
        }
        previous_match = s.is_match;
      }
      return out;
  }
  return out;
}

// One range per character satisfying `pred` (tokenizers' char-predicate patterns).
std::vector<ByteRange> char_matches(std::string_view text,
                                    const std::function<bool(char32_t)>& pred) {
  std::vector<ByteRange> matches;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t begin = pos;
    if (pred(next_code_point(text, pos))) matches.emplace_back(begin, pos);
  }
  return matches;
}

// Splits every piece by the ranges `find` returns.
class PatternSplit : public PreTokenizer {
 public:
  using Finder = std::function<std::vector<ByteRange>(std::string_view)>;
  PatternSplit(Finder find, SplitBehavior behavior, bool invert)
      : find_(std::move(find)), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    out.reserve(pieces.size() * 4);
    for (const Piece& piece : pieces)
      split_piece(piece, find_(piece.text), behavior_, invert_, out);
    pieces.swap(out);
  }

 private:
  Finder find_;
  SplitBehavior behavior_;
  bool invert_;
};

// Splits every piece around each character satisfying `pred` (tokenizers' char-predicate split).
std::unique_ptr<PreTokenizer> char_split(bool (*pred)(char32_t), SplitBehavior behavior) {
  return std::make_unique<PatternSplit>(
      [pred](std::string_view text) { return char_matches(text, pred); }, behavior, false);
}

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex, const JsonPath& path)
      : add_prefix_space_(add_prefix_space) {
    if (use_regex) regex_ = std::make_unique<Regex>(kGpt2Pattern, path.where());
  }
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    if (add_prefix_space_) {
      for (Piece& piece : pieces) {
        if (piece.text.empty() || piece.text[0] != ' ') piece.text.insert(0, 1, ' ');
      }
    }
    if (regex_) {
      std::vector<Piece> out;
      std::vector<ByteRange> matches;
      for (const Piece& piece : pieces) {
        matches.clear();
        regex_->find_all(piece.text, matches);
        split_piece(piece, matches, SplitBehavior::kIsolated, false, out);
      }
      pieces.swap(out);
    }
    const ByteLevelTable& table = ByteLevelTable::instance();
    for (Piece& piece : pieces) {
      std::string mapped;
      mapped.reserve(piece.text.size() * 2);
      for (const char c : piece.text) mapped += table.encode(static_cast<uint8_t>(c));
      piece.text.swap(mapped);
    }
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

enum class PrependScheme { kFirst, kAlways, kNever };

class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split)
      : scheme_(scheme), split_(split) {
    append_utf8(replacement_, replacement);
  }
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    std::vector<ByteRange> matches;
    for (Piece& piece : pieces) {
      std::string text;
      for (const char c : piece.text) c == ' ' ? text += replacement_ : text += c;
      const bool starts = text.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts && (scheme_ == PrependScheme::kAlways ||
                      (scheme_ == PrependScheme::kFirst && piece.at_start))) {
        text.insert(0, replacement_);
      }
      Piece replaced{std::move(text), piece.at_start};
      if (!split_) {
        out.push_back(std::move(replaced));
        continue;
      }
      matches.clear();
      find_all_literal(replaced.text, replacement_, matches);
      split_piece(replaced, matches, SplitBehavior::kMergedWithNext, false, out);
    }
    pieces.swap(out);
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    for (const auto& step : steps_) step->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

SplitBehavior parse_behavior(const nlohmann::json& spec, const JsonPath& path,
                             SplitBehavior fallback) {
  const nlohmann::json* value = json_find(spec, "behavior", path);
  if (value == nullptr) return fallback;
  const std::string name = json_string(*value, path.child("behavior"));
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  DPOK_THROW(FormatError, "tokenizer", "{}: unknown split behavior \"{}\"",
             path.child("behavior").where(), name);
}

std::unique_ptr<PreTokenizer> make_split(const nlohmann::json& spec, const JsonPath& path) {
  const nlohmann::json& pattern = json_require(spec, "pattern", path);
  const JsonPath pattern_path = path.child("pattern");
  const SplitBehavior behavior = parse_behavior(spec, path, SplitBehavior::kIsolated);
  const bool invert = json_bool_or(spec, "invert", path, false);
  if (const nlohmann::json* s = json_find(pattern, "String", pattern_path)) {
    std::string literal = json_string(*s, pattern_path.child("String"));
    return std::make_unique<PatternSplit>(
        [literal](std::string_view text) {
          std::vector<ByteRange> m;
          find_all_literal(text, literal, m);
          return m;
        },
        behavior, invert);
  }
  const JsonPath regex_path = pattern_path.child("Regex");
  auto regex = std::make_shared<Regex>(
      json_string(json_require(pattern, "Regex", pattern_path), regex_path), regex_path.where());
  return std::make_unique<PatternSplit>(
      [regex](std::string_view text) {
        std::vector<ByteRange> m;
        regex->find_all(text, m);
        return m;
      },
      behavior, invert);
}

std::unique_ptr<PreTokenizer> make_metaspace(const nlohmann::json& spec, const JsonPath& path) {
  const char32_t replacement =
      json_char(json_require(spec, "replacement", path), path.child("replacement"));
  PrependScheme scheme = PrependScheme::kAlways;
  if (const nlohmann::json* value = json_find(spec, "prepend_scheme", path)) {
    const std::string name = json_string(*value, path.child("prepend_scheme"));
    if (name == "first") {
      scheme = PrependScheme::kFirst;
    } else if (name == "always") {
      scheme = PrependScheme::kAlways;
    } else if (name == "never") {
      scheme = PrependScheme::kNever;
    } else {
      DPOK_THROW(FormatError, "tokenizer",
                 "{}: unknown prepend_scheme \"{}\" (first, always, never)",
                 path.child("prepend_scheme").where(), name);
    }
  } else if (!json_bool_or(spec, "add_prefix_space", path, true)) {
    scheme = PrependScheme::kNever;  // legacy files: add_prefix_space instead of prepend_scheme
  }
  return std::make_unique<MetaspacePreTokenizer>(replacement, scheme,
                                                 json_bool_or(spec, "split", path, true));
}

}  // namespace

void split_piece(const Piece& piece, const std::vector<ByteRange>& matches, SplitBehavior behavior,
                 bool invert, std::vector<Piece>& out) {
  const bool removing = behavior == SplitBehavior::kRemoved;
  for (const Segment& s :
       apply_behavior(segments_of(piece.text.size(), matches, invert), behavior)) {
    if ((removing && s.is_match) || s.begin >= s.end) continue;
    out.push_back({piece.text.substr(s.begin, s.end - s.begin), piece.at_start && s.begin == 0});
  }
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& spec, const JsonPath& path) {
  const std::string type = json_string(json_require(spec, "type", path), path.child("type"));
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelPreTokenizer>(
        json_bool_or(spec, "add_prefix_space", path, true),
        json_bool_or(spec, "use_regex", path, true), path);
  }
  if (type == "Split") return make_split(spec, path);
  if (type == "Metaspace") return make_metaspace(spec, path);
  if (type == "Digits") {
    const bool individual = json_bool_or(spec, "individual_digits", path, false);
    return std::make_unique<PatternSplit>(
        [](std::string_view text) {
          return char_matches(text, [](char32_t c) { return c >= '0' && c <= '9'; });
        },
        individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous, false);
  }
  if (type == "Whitespace") {
    auto regex = std::make_shared<Regex>(R"(\w+|[^\w\s]+)", path.where());
    return std::make_unique<PatternSplit>(
        [regex](std::string_view text) {
          std::vector<ByteRange> m;
          regex->find_all(text, m);
          return m;
        },
        SplitBehavior::kRemoved, true);
  }
  if (type == "WhitespaceSplit") return char_split(is_whitespace, SplitBehavior::kRemoved);
  if (type == "Punctuation") {
    return char_split(is_punctuation, parse_behavior(spec, path, SplitBehavior::kIsolated));
  }
  if (type == "BertPreTokenizer") {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    steps.push_back(char_split(is_whitespace, SplitBehavior::kRemoved));
    steps.push_back(char_split(is_punctuation, SplitBehavior::kIsolated));
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  if (type == "Sequence") {
    const nlohmann::json& list = json_require(spec, "pretokenizers", path);
    json_require_array(list, path.child("pretokenizers"));
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (size_t i = 0; i < list.size(); ++i) {
      steps.push_back(make_pre_tokenizer(list[i], path.child("pretokenizers").child(i)));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  DPOK_THROW(UnsupportedError, "tokenizer", "{}: pre-tokenizer type \"{}\" is not supported",
             path.where(), type);
}

}  // namespace dpok::text
