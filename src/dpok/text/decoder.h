// tokenizer.json decoders: ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, WordPiece
// and Sequence, each with Hugging Face tokenizers' decode_chain semantics (a list of token
// strings in, a list of strings out; the final text is their concatenation).
//
// Does: turn vocabulary tokens back into text. Does not: look up ids (hf_tokenizer.h). Other
// types (BPEDecoder, CTC) are refused with UnsupportedError naming the type.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "dpok/text/json_util.h"

namespace dpok::text {

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Transforms the token strings in place (the number of strings may change).
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

// Builds the decoder described by `spec`. Throws FormatError / UnsupportedError.
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& spec, const JsonPath& path);

}  // namespace dpok::text
