// tokenizer.json pre-tokenizers: ByteLevel, Split, Metaspace, Digits, Whitespace,
// WhitespaceSplit, Punctuation, BertPreTokenizer and Sequence, with Hugging Face tokenizers'
// split behaviours (Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous; invert).
//
// Does: cut normalized text into the words the model encodes independently, and apply the
// ByteLevel byte-to-character mapping. Does not: track offsets. Other types (UnicodeScripts,
// CharDelimiterSplit, FixedLength) are refused with UnsupportedError.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "dpok/text/json_util.h"
#include "dpok/text/regex.h"

namespace dpok::text {

// A piece of text on its way to the model. `at_start`: it begins at offset 0 of the original
// input (Metaspace's prepend_scheme "first" prepends only there).
struct Piece {
  std::string text;
  bool at_start = false;
};

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// Splits `piece` at `matches` (sorted, non-overlapping byte ranges) the way tokenizers'
// NormalizedString::split does, appending the non-empty results to `out`.
void split_piece(const Piece& piece, const std::vector<ByteRange>& matches, SplitBehavior behavior,
                 bool invert, std::vector<Piece>& out);

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` with their pre-tokenized sub-pieces, in order.
  virtual void pre_tokenize(std::vector<Piece>& pieces) const = 0;
};

// Builds the pre-tokenizer described by `spec`. Throws FormatError / UnsupportedError.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& spec, const JsonPath& path);

// The GPT-2 regex ByteLevel uses when use_regex is true.
extern const char* const kGpt2Pattern;

}  // namespace dpok::text
