// SentencePieceModel: a SentencePiece .model file read natively (a minimal protobuf wire-format
// reader for sentencepiece's ModelProto) plus its encoder and decoder.
//
// Why not libsentencepiece: Debian 12's libsentencepiece.so.0 embeds its own protobuf 3.14 and
// exports its symbols, while LibTorch links the system libprotobuf 3.21; a process linking both
// crashes at start-up or aborts in protobuf's version check when a .model is loaded. dpok
// therefore reads the small, stable ModelProto itself (the justified exception to "prefer Debian
// libraries").
//
// Does: parse pieces {piece, score, type}, the trainer_spec and normalizer_spec fields encoding
// needs; encode exactly as sentencepiece 0.1.97's EncodeAsIds does for BPE and unigram models
// with the identity normalizer (dummy prefix, extra-whitespace removal, U+2581 escaping,
// user-defined pieces, byte fallback, unknown runs); decode like DecodeIds.
// Does not: precompiled-charsmap normalizers (nmt_nfkc, ...), word/char models or whitespace as
// suffix (refused with UnsupportedError naming the file); sampling, n-best, offsets (no API).
//
// Errors: FormatError "<file>: not a SentencePiece model: <what> at byte <offset>" for malformed
// files; UnsupportedError for the features above. All methods are const and thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dpok::text {

class SentencePieceModel {
 public:
  // sentencepiece's ModelProto.SentencePiece.Type values.
  enum class PieceType : int32_t {
    kNormal = 1,
    kUnknown = 2,
    kControl = 3,
    kUserDefined = 4,
    kUnused = 5,
    kByte = 6,
  };
  struct Piece {
    std::string text;
    float score = 0.0F;
    PieceType type = PieceType::kNormal;
  };

  // Parses a serialized ModelProto; `file` names it in errors.
  SentencePieceModel(std::string_view bytes, const std::string& file);

  int32_t size() const { return static_cast<int32_t>(pieces_.size()); }
  // The piece of `id` (0 <= id < size(), checked by the caller).
  const Piece& piece(int32_t id) const { return pieces_[static_cast<size_t>(id)]; }
  // Id of the piece spelled `text` (any type), or -1.
  int32_t find(std::string_view text) const;
  // Special ids as sentencepiece's processor reports them, -1 when absent.
  int32_t unk_id() const { return unk_id_; }
  int32_t bos_id() const { return bos_id_; }
  int32_t eos_id() const { return eos_id_; }
  int32_t pad_id() const { return pad_id_; }

  // EncodeAsIds(text); `text` must be valid UTF-8 (the caller checks).
  std::vector<int32_t> encode(std::string_view text) const;
  // DecodeIds(ids) for in-range ids: control pieces render as nothing, the unknown piece as the
  // unk surface, byte pieces are reassembled (invalid UTF-8 -> U+FFFD per byte).
  std::string decode(const std::vector<int32_t>& ids) const;
  // The normalized string encode() segments (dummy prefix, whitespace rules, U+2581).
  std::string normalize(std::string_view text) const;

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using PieceMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

  void parse_model(std::string_view bytes);
  void validate();
  void check_supported() const;
  void build_trie();
  // sentencepiece's PrefixMatcher: the longest user-defined piece at `pos` (freeze = true), else
  // one UTF-8 character.
  size_t prefix_length(std::string_view text, size_t pos, bool& freeze) const;
  std::vector<std::pair<std::string_view, int32_t>> encode_bpe(std::string_view normalized) const;
  std::vector<std::pair<std::string_view, int32_t>> encode_unigram(
      std::string_view normalized) const;

  std::string file_;
  std::vector<Piece> pieces_;
  int32_t model_type_ = 1;  // TrainerSpec.ModelType: 1 unigram, 2 BPE
  bool treat_whitespace_as_suffix_ = false;
  bool byte_fallback_ = false;
  int32_t unk_id_ = -1, bos_id_ = -1, eos_id_ = -1, pad_id_ = -1;
  int32_t unknown_ = -1;                      // the piece of type unknown (what the encoder emits)
  std::array<std::string, 4> special_names_;  // trainer_spec unk/bos/eos/pad_piece
  std::string unk_surface_ = " \xE2\x81\x87 ";
  std::string normalizer_name_;
  bool has_charsmap_ = false;
  bool has_denormalizer_charsmap_ = false;
  bool add_dummy_prefix_ = true;
  bool remove_extra_whitespaces_ = true;
  bool escape_whitespaces_ = true;

  PieceMap all_ids_;     // every piece
  PieceMap normal_ids_;  // normal, user-defined and unused pieces (what the models match)
  std::vector<std::string> user_defined_;  // longest first
  std::vector<int16_t> byte_value_;        // per id: 0..255 for byte pieces, else -1
  std::array<int32_t, 256> byte_ids_{};
  float min_score_ = 0.0F, max_score_ = 0.0F;  // over normal pieces (unigram)
  // Unigram: a byte trie over normal_ids_ (node -> first edge index; edges sorted by byte).
  struct TrieNode {
    int32_t id = -1;
    uint32_t first_child = 0, child_count = 0;
  };
  std::vector<TrieNode> trie_;
  std::vector<std::pair<uint8_t, uint32_t>> trie_edges_;  // (byte, child node)
};

// 0..255 for a byte piece "<0xNN>" (upper-case hex as sentencepiece writes them), else -1.
int byte_piece_value(std::string_view piece);

}  // namespace dpok::text
