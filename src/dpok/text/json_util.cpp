// Typed JSON access with path-naming errors (see json_util.h).
#include "dpok/text/json_util.h"

#include "dpok/core/error.h"
#include "dpok/text/utf8.h"

namespace dpok::text {

const char* json_type_name(const nlohmann::json& value) {
  return value.type_name();
}

const nlohmann::json* json_find(const nlohmann::json& obj, const char* key, const JsonPath& path) {
  if (!obj.is_object()) {
    DPOK_THROW(FormatError, "tokenizer", "{}: expected an object, got {}", path.where(),
               json_type_name(obj));
  }
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

const nlohmann::json& json_require(const nlohmann::json& obj, const char* key,
                                   const JsonPath& path) {
  const nlohmann::json* value = json_find(obj, key, path);
  if (value == nullptr) {
    DPOK_THROW(FormatError, "tokenizer", "{}: missing required key \"{}\"", path.where(), key);
  }
  return *value;
}

std::string json_string(const nlohmann::json& value, const JsonPath& path) {
  if (!value.is_string()) {
    DPOK_THROW(FormatError, "tokenizer", "{}: expected a string, got {}", path.where(),
               json_type_name(value));
  }
  return value.get<std::string>();
}

bool json_bool(const nlohmann::json& value, const JsonPath& path) {
  if (!value.is_boolean()) {
    DPOK_THROW(FormatError, "tokenizer", "{}: expected a boolean, got {}", path.where(),
               json_type_name(value));
  }
  return value.get<bool>();
}

int64_t json_int(const nlohmann::json& value, const JsonPath& path) {
  if (!value.is_number_integer()) {
    DPOK_THROW(FormatError, "tokenizer", "{}: expected an integer, got {}", path.where(),
               json_type_name(value));
  }
  return value.get<int64_t>();
}

void json_require_array(const nlohmann::json& value, const JsonPath& path) {
  if (!value.is_array()) {
    DPOK_THROW(FormatError, "tokenizer", "{}: expected an array, got {}", path.where(),
               json_type_name(value));
  }
}

std::string json_string_or(const nlohmann::json& obj, const char* key, const JsonPath& path,
                           std::string fallback) {
  const nlohmann::json* value = json_find(obj, key, path);
  return value ? json_string(*value, path.child(key)) : fallback;
}

bool json_bool_or(const nlohmann::json& obj, const char* key, const JsonPath& path, bool fallback) {
  const nlohmann::json* value = json_find(obj, key, path);
  return value ? json_bool(*value, path.child(key)) : fallback;
}

char32_t json_char(const nlohmann::json& value, const JsonPath& path) {
  const std::string s = json_string(value, path);
  require_valid_utf8(s, "tokenizer");
  size_t pos = 0;
  const char32_t cp = s.empty() ? 0 : next_code_point(s, pos);
  if (s.empty() || pos != s.size()) {
    DPOK_THROW(FormatError, "tokenizer", "{}: expected exactly one character, got \"{}\"",
               path.where(), s);
  }
  return cp;
}

nlohmann::json parse_json_text(std::string_view text, const std::string& file) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    DPOK_THROW(FormatError, "tokenizer", "{}: invalid JSON at byte {}: {}", file, e.byte, e.what());
  }
}

}  // namespace dpok::text
