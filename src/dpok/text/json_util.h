// Typed access to tokenizer.json / tokenizer_config.json values with errors that name the file
// and the JSON path (e.g. "tokenizer.json at /pre_tokenizer/pretokenizers/0/pattern").
//
// Does: required/optional field lookup with type checks. Does not: parse files (nlohmann).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace dpok::text {

// Where a JSON value sits: the file it came from and its JSON pointer.
struct JsonPath {
  std::string file;
  std::string pointer;

  JsonPath child(std::string_view key) const { return {file, pointer + "/" + std::string(key)}; }
  JsonPath child(size_t index) const { return {file, pointer + "/" + std::to_string(index)}; }
  // "FILE at POINTER" for error messages.
  std::string where() const { return file + " at " + (pointer.empty() ? "/" : pointer); }
};

// Name of a JSON value's type, for "expected X, got Y" messages.
const char* json_type_name(const nlohmann::json& value);

// obj[key]; throws FormatError when obj is not an object or the key is missing.
const nlohmann::json& json_require(const nlohmann::json& obj, const char* key,
                                   const JsonPath& path);

// obj[key] when present and not null, else nullptr. Throws when obj is not an object.
const nlohmann::json* json_find(const nlohmann::json& obj, const char* key, const JsonPath& path);

// Type-checked conversions; throw FormatError naming the path and the actual type.
std::string json_string(const nlohmann::json& value, const JsonPath& path);
bool json_bool(const nlohmann::json& value, const JsonPath& path);
int64_t json_int(const nlohmann::json& value, const JsonPath& path);
void json_require_array(const nlohmann::json& value, const JsonPath& path);

// Optional fields with a default (missing or null -> fallback).
std::string json_string_or(const nlohmann::json& obj, const char* key, const JsonPath& path,
                           std::string fallback);
bool json_bool_or(const nlohmann::json& obj, const char* key, const JsonPath& path, bool fallback);

// A single-character string field (Metaspace replacement, Strip content).
char32_t json_char(const nlohmann::json& value, const JsonPath& path);

// Parses text as JSON; throws FormatError naming `file` and the parser's byte offset.
nlohmann::json parse_json_text(std::string_view text, const std::string& file);

}  // namespace dpok::text
