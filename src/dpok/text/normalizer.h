// tokenizer.json normalizers: NFC, NFD, NFKC, NFKD, Lowercase, Strip, Prepend, Replace,
// BertNormalizer and Sequence, with Hugging Face tokenizers' semantics (applied to each piece of
// text left between added tokens).
//
// Does: build a normalizer from its JSON and apply it to valid UTF-8. Does not: track offsets
// (dpok never needs them). Other types (Precompiled, StripAccents, Nmt, ...) are refused with
// UnsupportedError naming the type and the file.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "dpok/text/json_util.h"

namespace dpok::text {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Returns the normalized form of `text` (valid UTF-8 in, valid UTF-8 out).
  virtual std::string normalize(std::string text) const = 0;
};

// Builds the normalizer described by `spec` (a JSON object with "type"). Throws FormatError for
// malformed specs and UnsupportedError for types dpok does not implement.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& spec, const JsonPath& path);

}  // namespace dpok::text
