// SentencePieceModel: the ModelProto reader and its validation (see sentencepiece_model.h).
// Encoding and decoding live in sentencepiece_encode.cpp.
#include "dpok/text/sentencepiece_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>

#include "dpok/core/error.h"

namespace dpok::text {
namespace {

// Protobuf wire types.
constexpr int kVarint = 0;
constexpr int kFixed64 = 1;
constexpr int kLengthDelimited = 2;
constexpr int kFixed32 = 5;

// A protobuf wire-format reader over one message's bytes. `base` is the message's offset in the
// file, so errors name file offsets.
class WireReader {
 public:
  WireReader(std::string_view bytes, const std::string& file, size_t base)
      : bytes_(bytes), file_(file), base_(base) {}
  bool done() const { return pos_ >= bytes_.size(); }
  size_t offset() const { return base_ + pos_; }  // in the file
  size_t position() const { return pos_; }        // in this message

  uint64_t varint() {
    const size_t start = pos_;
    uint64_t value = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (pos_ >= bytes_.size()) fail_at(start, "truncated varint");
      const auto byte = static_cast<uint8_t>(bytes_[pos_++]);
      value |= static_cast<uint64_t>(byte & 0x7F) << (shift < 64 ? shift : 63);
      if ((byte & 0x80) == 0) return value;
    }
    fail_at(start, "varint longer than 10 bytes");
  }
  // Reads a field key: returns the field number, sets wire_type.
  uint32_t key(int& wire_type) {
    const size_t start = pos_;
    const uint64_t k = varint();
    wire_type = static_cast<int>(k & 7);
    if ((k >> 3) == 0 || (k >> 3) > 0x1FFFFFFF) fail_at(start, fmt::format("bad field key {}", k));
    return static_cast<uint32_t>(k >> 3);
  }
  // A length-delimited field's bytes.
  std::string_view bytes() {
    const size_t start = pos_;
    const uint64_t length = varint();
    if (length > bytes_.size() - pos_) {
      fail_at(start, fmt::format("length {} overruns the enclosing message ({} bytes left)", length,
                                 bytes_.size() - pos_));
    }
    const std::string_view out = bytes_.substr(pos_, length);
    pos_ += length;
    return out;
  }
  float fixed32_float() {
    if (bytes_.size() - pos_ < 4) fail_at(pos_, "truncated fixed32");
    uint32_t raw = 0;
    for (size_t k = 0; k < 4; ++k) {
      raw |= static_cast<uint32_t>(static_cast<uint8_t>(bytes_[pos_ + k])) << (8 * k);
    }
    pos_ += 4;
    float value = 0;
    std::memcpy(&value, &raw, sizeof(value));
    return value;
  }
  // An int32 field (protobuf sign-extends negatives to 10-byte varints).
  int32_t int32() { return static_cast<int32_t>(static_cast<uint32_t>(varint())); }
  bool boolean() { return varint() != 0; }
  // Skips an unknown field by its wire type; groups (3, 4) are refused.
  void skip(int wire_type, uint32_t field) {
    switch (wire_type) {
      case kVarint:
        varint();
        return;
      case kFixed64:
        advance(8);
        return;
      case kLengthDelimited:
        bytes();
        return;
      case kFixed32:
        advance(4);
        return;
      default:
        fail_at(pos_, fmt::format("field {} has unsupported wire type {}", field, wire_type));
    }
  }
  // Checks a known field's wire type.
  void expect(int wire_type, int expected, uint32_t field, const char* message) {
    if (wire_type != expected) {
      fail_at(pos_, fmt::format("{} field {} has wire type {}, expected {}", message, field,
                                wire_type, expected));
    }
  }
  [[noreturn]] void fail_at(size_t pos, const std::string& what) const {
    DPOK_THROW(FormatError, "tokenizer", "{}: not a SentencePiece model: {} at byte {}", file_,
               what, base_ + pos);
  }

 private:
  void advance(size_t n) {
    if (bytes_.size() - pos_ < n) fail_at(pos_, "truncated fixed-width field");
    pos_ += n;
  }
  std::string_view bytes_;
  const std::string& file_;
  size_t base_;
  size_t pos_ = 0;
};

constexpr int hex_digit(char c) {
  return c >= '0' && c <= '9' ? c - '0' : (c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1);
}

// The TrainerSpec fields dpok reads, with protobuf's defaults.
struct TrainerFields {
  int32_t model_type = 1;
  bool treat_whitespace_as_suffix = false;
  bool byte_fallback = false;
  std::string unk_surface = " \xE2\x81\x87 ";
  std::array<std::string, 4> names = {"<unk>", "<s>", "</s>", "<pad>"};  // unk/bos/eos/pad_piece
};

// The NormalizerSpec fields dpok reads, with protobuf's defaults.
struct NormalizerFields {
  std::string name;
  bool has_charsmap = false;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

// SentencePiece {piece = 1, score = 2, type = 3}.
void read_piece(WireReader& in, SentencePieceModel::Piece& out, size_t index) {
  while (!in.done()) {
    int wire = 0;
    const uint32_t field = in.key(wire);
    if (field == 1) {
      in.expect(wire, kLengthDelimited, field, "SentencePiece");
      out.text = std::string(in.bytes());
    } else if (field == 2) {
      in.expect(wire, kFixed32, field, "SentencePiece");
      out.score = in.fixed32_float();
    } else if (field == 3) {
      in.expect(wire, kVarint, field, "SentencePiece");
      const size_t at = in.position();
      const int32_t type = in.int32();
      if (type < 1 || type > 6) {
        in.fail_at(at, fmt::format("piece {} has type {}, expected 1..6", index, type));
      }
      out.type = static_cast<SentencePieceModel::PieceType>(type);
    } else {
      in.skip(wire, field);
    }
  }
}

void read_trainer_spec(WireReader& in, TrainerFields& out) {
  while (!in.done()) {
    int wire = 0;
    const uint32_t field = in.key(wire);
    const auto check = [&](int expected) { in.expect(wire, expected, field, "TrainerSpec"); };
    if (field == 3) {
      check(kVarint);
      out.model_type = in.int32();
    } else if (field == 24 || field == 35) {
      check(kVarint);
      (field == 24 ? out.treat_whitespace_as_suffix : out.byte_fallback) = in.boolean();
    } else if (field == 44) {
      check(kLengthDelimited);
      out.unk_surface = std::string(in.bytes());
    } else if (field >= 45 && field <= 48) {
      check(kLengthDelimited);
      out.names[field - 45] = std::string(in.bytes());
    } else {
      in.skip(wire, field);
    }
  }
}

// NormalizerSpec {name = 1, precompiled_charsmap = 2, add_dummy_prefix = 3,
// remove_extra_whitespaces = 4, escape_whitespaces = 5}.
void read_normalizer_spec(WireReader& in, NormalizerFields& out) {
  while (!in.done()) {
    int wire = 0;
    const uint32_t field = in.key(wire);
    const auto check = [&](int expected) { in.expect(wire, expected, field, "NormalizerSpec"); };
    if (field == 1) {
      check(kLengthDelimited);
      out.name = std::string(in.bytes());
    } else if (field == 2) {
      check(kLengthDelimited);
      out.has_charsmap = !in.bytes().empty();
    } else if (field >= 3 && field <= 5) {
      check(kVarint);
      const bool value = in.boolean();
      (field == 3 ? out.add_dummy_prefix
                  : (field == 4 ? out.remove_extra_whitespaces : out.escape_whitespaces)) = value;
    } else {
      in.skip(wire, field);
    }
  }
}

}  // namespace

int byte_piece_value(std::string_view piece) {
  if (piece.size() != 6 || !piece.starts_with("<0x") || piece[5] != '>') return -1;
  const int hi = hex_digit(piece[3]), lo = hex_digit(piece[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

SentencePieceModel::SentencePieceModel(std::string_view bytes, const std::string& file)
    : file_(file) {
  parse_model(bytes);
  validate();
}

void SentencePieceModel::parse_model(std::string_view bytes) {
  // ModelProto {pieces = 1, trainer_spec = 2, normalizer_spec = 3, denormalizer_spec = 5}.
  TrainerFields trainer;
  NormalizerFields normalizer, denormalizer;
  WireReader model(bytes, file_, 0);
  while (!model.done()) {
    int wire = 0;
    const uint32_t field = model.key(wire);
    if (field != 1 && field != 2 && field != 3 && field != 5) {
      model.skip(wire, field);
      continue;
    }
    model.expect(wire, kLengthDelimited, field, "ModelProto");
    const std::string_view body = model.bytes();
    WireReader sub(body, file_, model.offset() - body.size());
    if (field == 1) {
      pieces_.emplace_back();
      read_piece(sub, pieces_.back(), pieces_.size() - 1);
    } else if (field == 2) {
      read_trainer_spec(sub, trainer);
    } else {
      read_normalizer_spec(sub, field == 3 ? normalizer : denormalizer);
    }
  }
  model_type_ = trainer.model_type;
  treat_whitespace_as_suffix_ = trainer.treat_whitespace_as_suffix;
  byte_fallback_ = trainer.byte_fallback;
  unk_surface_ = trainer.unk_surface;
  special_names_ = trainer.names;
  normalizer_name_ = normalizer.name;
  has_charsmap_ = normalizer.has_charsmap;
  has_denormalizer_charsmap_ = denormalizer.has_charsmap;
  add_dummy_prefix_ = normalizer.add_dummy_prefix;
  remove_extra_whitespaces_ = normalizer.remove_extra_whitespaces;
  escape_whitespaces_ = normalizer.escape_whitespaces;
}

// Features dpok cannot reproduce exactly are refused, never approximated.
void SentencePieceModel::check_supported() const {
  if (model_type_ != 1 && model_type_ != 2) {
    DPOK_THROW(UnsupportedError, "tokenizer",
               "{}: SentencePiece model_type {} is not supported (unigram = 1 and BPE = 2 are)",
               file_, model_type_);
  }
  if (has_charsmap_ || has_denormalizer_charsmap_) {
    DPOK_THROW(UnsupportedError, "tokenizer",
               "{}: SentencePiece {}normalizer \"{}\" uses a precompiled charsmap, which dpok does "
               "not implement (only identity normalization)",
               file_, has_charsmap_ ? "" : "de", normalizer_name_);
  }
  if (treat_whitespace_as_suffix_) {
    DPOK_THROW(UnsupportedError, "tokenizer",
               "{}: SentencePiece treat_whitespace_as_suffix is not supported", file_);
  }
}

// The checks of sentencepiece's ModelInterface::InitializePieces, then the lookup tables.
void SentencePieceModel::validate() {
  const auto fail = [&](const std::string& what) {
    DPOK_THROW(FormatError, "tokenizer", "{}: not a SentencePiece model: {}", file_, what);
  };
  if (pieces_.empty()) fail("no pieces");
  check_supported();
  byte_ids_.fill(-1);
  byte_value_.assign(pieces_.size(), -1);
  int32_t unknown = -1;
  min_score_ = std::numeric_limits<float>::max();
  max_score_ = std::numeric_limits<float>::min();  // sic: sentencepiece starts from FLT_MIN
  for (int32_t id = 0; id < size(); ++id) {
    const Piece& p = pieces_[static_cast<size_t>(id)];
    if (p.text.empty()) fail(fmt::format("piece {} is empty", id));
    if (!all_ids_.emplace(p.text, id).second) {
      fail(fmt::format("piece {} \"{}\" is already defined", id, p.text));
    }
    switch (p.type) {
      case PieceType::kNormal:
        min_score_ = std::min(min_score_, p.score);
        max_score_ = std::max(max_score_, p.score);
        normal_ids_.emplace(p.text, id);
        break;
      case PieceType::kUserDefined:
        user_defined_.push_back(p.text);
        normal_ids_.emplace(p.text, id);
        break;
      case PieceType::kUnused:
        normal_ids_.emplace(p.text, id);
        break;
      case PieceType::kUnknown:
        if (unknown >= 0) fail(fmt::format("pieces {} and {} are both unknown", unknown, id));
        unknown = id;
        break;
      case PieceType::kByte: {
        if (!byte_fallback_) fail(fmt::format("byte piece {} without byte_fallback", id));
        const int value = byte_piece_value(p.text);
        if (value < 0) fail(fmt::format("byte piece {} is \"{}\", expected <0xNN>", id, p.text));
        byte_value_[static_cast<size_t>(id)] = static_cast<int16_t>(value);
        byte_ids_[static_cast<size_t>(value)] = id;
        break;
      }
      case PieceType::kControl:
        break;
    }
  }
  if (unknown < 0) fail("no unknown piece");
  unknown_ = unknown;
  if (byte_fallback_ && std::find(byte_ids_.begin(), byte_ids_.end(), -1) != byte_ids_.end()) {
    fail("byte_fallback is set but the 256 byte pieces are not all present");
  }
  std::sort(user_defined_.begin(), user_defined_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  // Special ids as SentencePieceProcessor::unk_id()/bos_id()/... report them: the id of the
  // named piece when it has the expected type.
  const auto special = [&](const std::string& name, PieceType type) {
    const int32_t id = find(name);
    return id >= 0 && pieces_[static_cast<size_t>(id)].type == type ? id : -1;
  };
  unk_id_ = special(special_names_[0], PieceType::kUnknown);
  bos_id_ = special(special_names_[1], PieceType::kControl);
  eos_id_ = special(special_names_[2], PieceType::kControl);
  pad_id_ = special(special_names_[3], PieceType::kControl);
  if (model_type_ == 1) build_trie();
}

// A byte trie over the pieces the unigram lattice matches (sentencepiece's Darts trie holds the
// same keys: normal, user-defined and unused pieces).
void SentencePieceModel::build_trie() {
  std::vector<std::map<uint8_t, uint32_t>> children(1);
  std::vector<int32_t> ids(1, -1);
  for (const auto& [text, id] : normal_ids_) {
    uint32_t node = 0;
    for (const char c : text) {
      const auto byte = static_cast<uint8_t>(c);
      const auto it = children[node].find(byte);
      if (it != children[node].end()) {
        node = it->second;
        continue;
      }
      const auto child = static_cast<uint32_t>(children.size());
      children[node].emplace(byte, child);
      children.emplace_back();
      ids.push_back(-1);
      node = child;
    }
    ids[node] = id;
  }
  trie_.assign(children.size(), TrieNode{});
  for (size_t node = 0; node < children.size(); ++node) {
    trie_[node].id = ids[node];
    trie_[node].first_child = static_cast<uint32_t>(trie_edges_.size());
    trie_[node].child_count = static_cast<uint32_t>(children[node].size());
    for (const auto& edge : children[node]) trie_edges_.push_back(edge);
  }
}

int32_t SentencePieceModel::find(std::string_view text) const {
  const auto it = all_ids_.find(text);
  return it == all_ids_.end() ? -1 : it->second;
}

}  // namespace dpok::text
