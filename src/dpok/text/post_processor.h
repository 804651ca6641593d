// tokenizer.json post-processors for single sequences: TemplateProcessing, BertProcessing,
// RobertaProcessing, ByteLevel (no effect on ids) and Sequence, reduced to the ids they put
// before and after the encoded text.
//
// Does: parse the post-processor into a SingleTemplate. Does not: pairs (dpok encodes single
// texts; a template whose single form uses $B or $A twice is refused).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "dpok/text/json_util.h"

namespace dpok::text {

// encode(text, add_special_tokens=true) = prefix + ids(text) + suffix.
struct SingleTemplate {
  std::vector<int32_t> prefix;
  std::vector<int32_t> suffix;
};

// Parses a post_processor object. Throws FormatError / UnsupportedError naming the path.
SingleTemplate parse_post_processor(const nlohmann::json& spec, const JsonPath& path);

}  // namespace dpok::text
