// Small helpers for reading untrusted JSON headers (safetensors headers, shard indexes).
//
// Internal to dpok::io. They only inspect values; the caller formats the error, because only it
// knows the file and the key being read.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace dpok::io::detail {

// Deepest nesting of [ and { in `text`, ignoring brackets inside strings. Lets a reader refuse a
// pathological header before handing it to the parser.
size_t json_nesting_depth(std::string_view text);

// A JSON integer >= 0 (nlohmann stores non-negative literals as unsigned), else nullopt
// (negative, fractional, or not a number).
std::optional<uint64_t> json_to_u64(const nlohmann::json& value);

}  // namespace dpok::io::detail
