// SentencePieceModel encoding and decoding (see sentencepiece_model.h). The algorithms follow
// sentencepiece 0.1.97 (Debian 12): normalizer.cc (identity rules), bpe_model.cc (priority queue
// over adjacent pairs, resegmentation of unused pieces), unigram_model.cc (EncodeOptimized
// Viterbi) and sentencepiece_processor.cc (byte fallback, unknown runs, DecodeIds).
#include <algorithm>
#include <queue>
#include <unordered_map>

#include "dpok/core/error.h"
#include "dpok/text/sentencepiece_model.h"
#include "dpok/text/utf8.h"

namespace dpok::text {
namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581 "▁"
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
// sentencepiece's unigram penalty for an unknown character (below the worst piece score).
constexpr float kUnkPenalty = 10.0F;

// sentencepiece's OneCharLen: the length its lead byte announces (continuation bytes count 1).
size_t one_char_length(std::string_view text, size_t pos) {
  constexpr unsigned char kLengths[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  const size_t length = kLengths[static_cast<unsigned char>(text[pos]) >> 4];
  return std::min(length, text.size() - pos);
}

}  // namespace

// Identity normalization (no charsmap): leading, trailing and repeated ' ' removed when
// remove_extra_whitespaces, the dummy "▁" prefix, ' ' -> "▁" when escape_whitespaces. Only
// ASCII space counts as whitespace here, as in sentencepiece without a charsmap.
std::string SentencePieceModel::normalize(std::string_view text) const {
  if (remove_extra_whitespaces_) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  }
  if (text.empty()) return {};
  const std::string_view space = escape_whitespaces_ ? kSpaceSymbol : std::string_view(" ");
  std::string out;
  out.reserve(text.size() + text.size() / 2 + space.size());
  if (add_dummy_prefix_) out += space;
  bool previous_space = remove_extra_whitespaces_;
  for (const char c : text) {
    if (c == ' ') {
      if (!previous_space) out += space;
      previous_space = remove_extra_whitespaces_;
    } else {
      out += c;
      previous_space = false;
    }
  }
  if (remove_extra_whitespaces_) {
    // sentencepiece strips every trailing space symbol, a literal "▁" in the text included.
    size_t length = out.size();
    while (length >= space.size() && out.compare(length - space.size(), space.size(), space) == 0) {
      length -= space.size();
    }
    out.erase(length);
  }
  return out;
}

size_t SentencePieceModel::prefix_length(std::string_view text, size_t pos, bool& freeze) const {
  freeze = false;
  for (const std::string& user : user_defined_) {  // longest first
    if (text.compare(pos, user.size(), user) == 0) {
      freeze = true;
      return user.size();
    }
  }
  return one_char_length(text, pos);
}

std::vector<std::pair<std::string_view, int32_t>> SentencePieceModel::encode_bpe(
    std::string_view normalized) const {
  struct Symbol {
    int prev, next;
    bool freeze;
    std::string_view piece;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(normalized.size());
  for (size_t pos = 0; pos < normalized.size();) {
    bool freeze = false;
    const size_t length = prefix_length(normalized, pos, freeze);
    const int index = static_cast<int>(symbols.size());
    pos += length;
    symbols.push_back({index - 1, pos < normalized.size() ? index + 1 : -1, freeze,
                       normalized.substr(pos - length, length)});
  }
  // Highest score first, ties to the leftmost pair (sentencepiece's SymbolPairComparator).
  struct Pair {
    int left, right;
    float score;
    size_t size;
    bool operator<(const Pair& o) const {
      return score < o.score || (score == o.score && left > o.left);
    }
  };
  std::priority_queue<Pair> agenda;
  // Merged unused pieces -> the two symbols they were made of (last insertion wins, as in
  // sentencepiece's rev_merge map), for resegmentation.
  std::unordered_map<std::string_view, std::pair<std::string_view, std::string_view>> rev_merge;
  const auto maybe_add = [&](int left, int right) {
    if (left < 0 || right < 0 || symbols[left].freeze || symbols[right].freeze) return;
    const std::string_view piece(symbols[left].piece.data(),
                                 symbols[left].piece.size() + symbols[right].piece.size());
    const auto it = normal_ids_.find(piece);
    if (it == normal_ids_.end()) return;
    const Piece& p = pieces_[static_cast<size_t>(it->second)];
    agenda.push({left, right, p.score, piece.size()});
    if (p.type == PieceType::kUnused)
      rev_merge[piece] = {symbols[left].piece, symbols[right].piece};
  };
  for (size_t i = 1; i < symbols.size(); ++i)
    maybe_add(static_cast<int>(i) - 1, static_cast<int>(i));
  while (!agenda.empty()) {
    const Pair top = agenda.top();
    agenda.pop();
    Symbol& left = symbols[top.left];
    Symbol& right = symbols[top.right];
    // Stale pairs: one side was merged away or grew since the pair was queued.
    if (left.piece.empty() || right.piece.empty() ||
        left.piece.size() + right.piece.size() != top.size) {
      continue;
    }
    left.piece = std::string_view(left.piece.data(), left.piece.size() + right.piece.size());
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.left;
    right.piece = {};
    maybe_add(left.prev, top.left);
    maybe_add(top.left, left.next);
  }
  std::vector<std::pair<std::string_view, int32_t>> out;
  const auto resegment = [&](auto& self, std::string_view piece) -> void {
    const int32_t found = find(piece);
    const int32_t id = found >= 0 ? found : unknown_;
    if (pieces_[static_cast<size_t>(id)].type == PieceType::kUnused) {
      const auto it = rev_merge.find(piece);
      if (it != rev_merge.end()) {
        self(self, it->second.first);
        self(self, it->second.second);
        return;
      }
    }
    out.emplace_back(piece, id);
  };
  for (int i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next)
    resegment(resegment, symbols[i].piece);
  return out;
}

// sentencepiece's EncodeOptimized: best path ending at each byte, one character at a time.
// Scores mix float and double exactly as the original (a user-defined piece's score is the
// double length * max_score - 0.1; sums are stored back as float).
std::vector<std::pair<std::string_view, int32_t>> SentencePieceModel::encode_unigram(
    std::string_view normalized) const {
  struct Node {
    int32_t id = -1;
    float score = 0.0F;
    int64_t starts_at = -1;
  };
  const size_t size = normalized.size();
  const float unk_score = min_score_ - kUnkPenalty;
  std::vector<Node> best(size + 1);
  for (size_t start = 0; start < size;) {
    const float here = best[start].score;
    const size_t mblen = one_char_length(normalized, start);
    bool has_single_node = false;
    uint32_t node = 0;
    for (size_t pos = start; pos < size;) {
      const TrieNode& current = trie_[node];
      const auto first = trie_edges_.begin() + current.first_child;
      const auto last = first + current.child_count;
      const auto byte = static_cast<uint8_t>(normalized[pos]);
      const auto edge = std::lower_bound(first, last, std::make_pair(byte, uint32_t{0}));
      if (edge == last || edge->first != byte) break;
      node = edge->second;
      ++pos;
      const int32_t id = trie_[node].id;
      if (id < 0) continue;
      const Piece& p = pieces_[static_cast<size_t>(id)];
      if (p.type == PieceType::kUnused) continue;
      const size_t length = pos - start;
      const double score = p.type == PieceType::kUserDefined
                               ? static_cast<double>(static_cast<float>(length) * max_score_) - 0.1
                               : static_cast<double>(p.score);
      const double candidate = score + static_cast<double>(here);
      Node& target = best[pos];
      if (target.starts_at == -1 || candidate > static_cast<double>(target.score)) {
        target = {id, static_cast<float>(candidate), static_cast<int64_t>(start)};
      }
      if (!has_single_node && length == mblen) has_single_node = true;
    }
    if (!has_single_node) {
      Node& target = best[start + mblen];
      const float candidate = unk_score + here;
      if (target.starts_at == -1 || candidate > target.score) {
        target = {unknown_, candidate, static_cast<int64_t>(start)};
      }
    }
    start += mblen;
  }
  std::vector<std::pair<std::string_view, int32_t>> out;
  for (size_t end = size; end > 0;) {
    const Node& node = best[end];
    const auto begin = static_cast<size_t>(node.starts_at);
    out.emplace_back(normalized.substr(begin, end - begin), node.id);
    end = begin;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<int32_t> SentencePieceModel::encode(std::string_view text) const {
  const std::string normalized = normalize(text);
  if (normalized.empty()) return {};
  const auto pieces = model_type_ == 2 ? encode_bpe(normalized) : encode_unigram(normalized);
  // sentencepiece_processor.cc PopulateSentencePieceText: unknown pieces become byte pieces
  // (byte_fallback) or one unknown id per run of unknowns.
  std::vector<int32_t> ids;
  ids.reserve(pieces.size());
  bool previous_unknown = false;
  for (const auto& [piece, id] : pieces) {
    const bool unknown = pieces_[static_cast<size_t>(id)].type == PieceType::kUnknown;
    if (unknown && byte_fallback_) {
      for (const char c : piece) ids.push_back(byte_ids_[static_cast<uint8_t>(c)]);
    } else if (!(unknown && previous_unknown)) {
      ids.push_back(id);
    }
    previous_unknown = unknown;
  }
  return ids;
}

std::string SentencePieceModel::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  std::string bytes;
  // sentencepiece strips the dummy-prefix "▁" at the start of the text (models that add one or
  // remove extra whitespace): from the first piece that starts with one while nothing has been
  // output, and, when extra whitespace is removed, from every such piece until text appears.
  const bool strips = add_dummy_prefix_ || remove_extra_whitespaces_;
  bool is_bos_ws = true, has_bos_ws = false;
  const auto flush_bytes = [&] {
    // Each valid UTF-8 character is kept; each byte that does not start one becomes U+FFFD.
    for (size_t pos = 0; pos < bytes.size();) {
      const size_t length = utf8_sequence_length(static_cast<uint8_t>(bytes[pos]));
      if (pos + length <= bytes.size() &&
          !find_invalid_utf8(std::string_view(bytes).substr(pos, length))) {
        out.append(bytes, pos, length);
        pos += length;
      } else {
        out += kReplacement;
        ++pos;
      }
    }
    bytes.clear();
  };
  for (const int32_t id : ids) {
    DPOK_CHECK(id >= 0 && id < size(), "piece id {} out of range", id);
    const Piece& p = pieces_[static_cast<size_t>(id)];
    if (p.type == PieceType::kByte) {
      bytes.push_back(static_cast<char>(byte_value_[static_cast<size_t>(id)]));
      continue;
    }
    flush_bytes();
    if (has_bos_ws || !out.empty()) is_bos_ws = false;
    has_bos_ws = false;
    if (p.type == PieceType::kControl) continue;
    if (p.type == PieceType::kUnknown) {
      out += unk_surface_;
      continue;
    }
    std::string_view text = p.text;
    if (is_bos_ws && strips && text.starts_with(kSpaceSymbol)) {
      text.remove_prefix(kSpaceSymbol.size());
      has_bos_ws = !remove_extra_whitespaces_;
    }
    for (size_t pos = 0; pos < text.size();) {
      if (text.compare(pos, kSpaceSymbol.size(), kSpaceSymbol) == 0) {
        out += ' ';
        pos += kSpaceSymbol.size();
      } else {
        out += text[pos++];
      }
    }
  }
  flush_bytes();
  return out;
}

}  // namespace dpok::text
