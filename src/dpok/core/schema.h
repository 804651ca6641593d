// The configuration schema: one table of fields per section (run, data, objective, kernel
// options), each row naming a YAML key, the struct member it fills, and one line of help.
//
// What it does: read a YAML mapping into a typed struct (numbers, booleans, strings, lists,
// optionals and enums through their name tables, config_check.h), reject unknown keys with the
// nearest valid name, write the struct back as YAML (the resolved configuration), and list every
// key with its default for the documentation. Defaults are the struct's member initialisers,
// nowhere else. What it does not do: range or cross-field checks (each struct's validate()).
//
// Errors: ConfigError "[config] key 'data.max_length': cannot read 'abc' as an integer",
// "[config] unknown key 'betaa' (did you mean 'beta'?)".
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "dpok/core/config_check.h"

namespace dpok::schema {

// "a number", "an integer", ... for type errors.
template <typename V>
const char* type_name() {
  if constexpr (std::is_same_v<V, bool>) {
    return "true or false";
  } else if constexpr (std::is_integral_v<V>) {
    return "an integer";
  } else if constexpr (std::is_floating_point_v<V>) {
    return "a number";
  } else {
    return "a string";
  }
}

[[noreturn]] void throw_type_error(const std::string& key, const YAML::Node& node,
                                   const char* expected);

// One value of type V from a YAML scalar; enums by name.
template <typename V>
V read_scalar(const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) throw_type_error(key, node, type_name<V>());
  if constexpr (std::is_enum_v<V>) {
    return parse_enum<V>(node.Scalar(), key);
  } else {
    try {
      return node.as<V>();
    } catch (const YAML::Exception&) {
      throw_type_error(key, node, type_name<V>());
    }
  }
}

template <typename V>
YAML::Node write_scalar(const V& value) {
  if constexpr (std::is_enum_v<V>) {
    return YAML::Node(name_of(value));
  } else {
    return YAML::Node(value);
  }
}

template <typename V>
struct is_vector : std::false_type {};
template <typename V>
struct is_vector<std::vector<V>> : std::true_type {};
template <typename V>
struct is_optional : std::false_type {};
template <typename V>
struct is_optional<std::optional<V>> : std::true_type {};

// Scalars, optionals (null = unset) and lists (a single scalar is a list of one, as TRL's
// loss_type and data files accept).
template <typename V>
V read_value(const YAML::Node& node, const std::string& key) {
  if constexpr (is_optional<V>::value) {
    if (node.IsNull()) return std::nullopt;
    return read_value<typename V::value_type>(node, key);
  } else if constexpr (is_vector<V>::value) {
    V out;
    if (node.IsNull()) return out;
    if (node.IsScalar()) {
      out.push_back(read_scalar<typename V::value_type>(node, key));
      return out;
    }
    if (!node.IsSequence()) throw_type_error(key, node, "a value or a list of values");
    for (size_t i = 0; i < node.size(); ++i) {
      out.push_back(read_scalar<typename V::value_type>(node[i], key));
    }
    return out;
  } else {
    return read_scalar<V>(node, key);
  }
}

template <typename V>
YAML::Node write_value(const V& value) {
  if constexpr (is_optional<V>::value) {
    return value ? write_value(*value) : YAML::Node(YAML::NodeType::Null);
  } else if constexpr (is_vector<V>::value) {
    YAML::Node out(YAML::NodeType::Sequence);
    for (const auto& item : value) out.push_back(write_scalar(item));
    return out;
  } else {
    return write_scalar(value);
  }
}

// One key of section T. `read` receives the node and the full dotted key for messages; a null
// node reaches it only when `nullable` (optionals: null unsets), otherwise null keeps the default.
template <typename T>
struct Field {
  std::string name;
  std::string help;
  std::function<void(T&, const YAML::Node&, const std::string&)> read;
  std::function<YAML::Node(const T&)> write;
  bool nullable = false;
  bool nested = false;  // a mapping with its own section (documented by that section)
};

// The common row: key -> member of type V.
template <typename T, typename V>
Field<T> field(const char* name, V T::*member, const char* help) {
  return Field<T>{name, help,
                  [member](T& out, const YAML::Node& node, const std::string& key) {
                    out.*member = read_value<V>(node, key);
                  },
                  [member](const T& in) { return write_value(in.*member); }, is_optional<V>::value};
}

// A path (or list of paths): ${VAR} and ${VAR:-default} are expanded when read.
template <typename T, typename V>
Field<T> path_field(const char* name, V T::*member, const char* help) {
  auto row = field(name, member, help);
  row.read = [member](T& out, const YAML::Node& node, const std::string& key) {
    out.*member = read_value<V>(node, key);
    if constexpr (is_vector<V>::value) {
      for (auto& item : out.*member) item = expand_env(item);
    } else {
      out.*member = expand_env(out.*member);
    }
  };
  return row;
}

// A section: its rows and the dotted prefix of its keys ("" at the top level, "data.").
template <typename T>
class Section {
 public:
  Section(std::string prefix, std::vector<Field<T>> fields)
      : prefix_(std::move(prefix)), fields_(std::move(fields)) {}

  const std::string& prefix() const { return prefix_; }
  const std::vector<Field<T>>& fields() const { return fields_; }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& f : fields_) out.push_back(f.name);
    return out;
  }

  // Reads every key of `map` into `out` (absent and null keys keep the default, except for
  // optionals, where null unsets). Unknown keys throw with the nearest of names() and `hints`.
  void read(T& out, const YAML::Node& map, const std::vector<std::string>& hints = {}) const {
    if (!map || map.IsNull()) return;
    if (!map.IsMap()) {
      DPOK_THROW(ConfigError, "config", "key '{}' must be a mapping of keys, got '{}'",
                 prefix_.empty() ? "<top level>" : prefix_.substr(0, prefix_.size() - 1),
                 YAML::Dump(map));
    }
    for (const auto& entry : map) {
      const auto name = entry.first.as<std::string>();
      const Field<T>* row = find(name);
      if (row == nullptr) {
        auto candidates = names();
        candidates.insert(candidates.end(), hints.begin(), hints.end());
        DPOK_THROW(ConfigError, "config", "unknown key '{}{}' (did you mean '{}{}'?)", prefix_,
                   name, prefix_, nearest_name(name, candidates));
      }
      if (entry.second.IsNull() && !row->nullable) continue;
      row->read(out, entry.second, prefix_ + name);
    }
  }

  YAML::Node write(const T& in) const {
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& f : fields_) out[f.name] = f.write(in);
    return out;
  }

  const Field<T>* find(const std::string& name) const {
    for (const auto& f : fields_) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }

 private:
  std::string prefix_;
  std::vector<Field<T>> fields_;
};

// The rows of a section of S that lives in member `member` of T, at T's level (the objective's
// keys sit at the top level of the trainer's YAML, as in TRL's flat DPOConfig).
template <typename T, typename S>
std::vector<Field<T>> lift(S T::*member, const Section<S>& section) {
  std::vector<Field<T>> out;
  for (const auto& f : section.fields()) {
    out.push_back(Field<T>{
        f.name, f.help,
        [member, read = f.read](T& t, const YAML::Node& node, const std::string& key) {
          read(t.*member, node, key);
        },
        [member, write = f.write](const T& t) { return write(t.*member); }, f.nullable, f.nested});
  }
  return out;
}

// A nested mapping (`data:`, `kernel_options:`) read by its own section.
template <typename T, typename S>
Field<T> nested(const char* name, S T::*member, const Section<S>& section, const char* help) {
  return Field<T>{name,
                  help,
                  [member, &section](T& out, const YAML::Node& node, const std::string&) {
                    section.read(out.*member, node);
                  },
                  [member, &section](const T& in) { return section.write(in.*member); },
                  false,
                  true};
}

// One line per key of `section` (nested sections are listed by their own section): the dotted key,
// the default as YAML flow text (from a default-constructed T) and the help, as a Markdown table
// body.
template <typename T>
std::string reference_rows(const Section<T>& section, const T& defaults = T{}) {
  std::string out;
  for (const auto& f : section.fields()) {
    if (f.nested) continue;
    YAML::Emitter emitter;
    emitter << YAML::Flow << f.write(defaults);
    out +=
        fmt::format("| `{}{}` | `{}` | {} |\n", section.prefix(), f.name, emitter.c_str(), f.help);
  }
  return out;
}

}  // namespace dpok::schema
