// Checking configuration values: enum names and ranges, with one message shape for every section
// ("[config] key 'kernel': 'rbff' is not one of linear, rbf, ... (did you mean 'rbf'?)",
// "[config] key 'beta': value -1 is invalid; expected > 0").
//
// Names as data (style.md rule 11): each enum owns one table of EnumName rows, returned by an
// `enum_names(E)` overload declared next to the enum and found by argument-dependent lookup.
// parse_enum, name_of and the configuration schema (schema.h) read that table, so adding an enum
// value is one enum row and one name row. Torch-free and YAML-free: objective/ includes it.
#pragma once

#include <fmt/format.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dpok/core/error.h"
#include "dpok/core/text_util.h"

namespace dpok {

template <typename E>
struct EnumName {
  const char* name;
  E value;
};

// The valid names of E, in table order.
template <typename E>
std::vector<std::string> enum_choices() {
  std::vector<std::string> out;
  for (const auto& entry : enum_names(E{})) out.emplace_back(entry.name);
  return out;
}

// Throws ConfigError naming the key, the value, the valid choices and the nearest one.
[[noreturn]] void throw_not_a_choice(std::string_view key, std::string_view value,
                                     const std::vector<std::string>& choices);

// The value named `text`. Throws ConfigError (throw_not_a_choice) for any other text.
template <typename E>
E parse_enum(std::string_view text, std::string_view key) {
  for (const auto& entry : enum_names(E{})) {
    if (text == entry.name) return entry.value;
  }
  throw_not_a_choice(key, text, enum_choices<E>());
}

// The name of `value` (the first row that has it). A value without a row is a bug.
template <typename E>
std::string name_of(E value) {
  for (const auto& entry : enum_names(E{})) {
    if (entry.value == value) return entry.name;
  }
  DPOK_CHECK(false, "enum value {} has no name", static_cast<int>(value));
  return {};
}

// Throws ConfigError "[config] key '<key>': value <value> is invalid; expected <expected>" unless
// `ok`. Non-finite doubles never pass.
void require_value(bool ok, std::string_view key, double value, std::string_view expected);
void require_value(bool ok, std::string_view key, std::string_view value,
                   std::string_view expected);

}  // namespace dpok
