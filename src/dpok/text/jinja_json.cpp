// transformers' tojson filter: Python's json.dumps on jinja values (see jinja_value.h).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "dpok/text/jinja_value.h"

namespace dpok::text::jinja {
namespace {

// json.dumps string encoding: with ensure_ascii every non-ASCII code point becomes \uXXXX
// (surrogate pairs above the BMP); without it only '"', '\\' and control characters are escaped.
void dump_string(const std::string& s, bool ensure_ascii, std::string& out) {
  out += '"';
  for (char32_t c : utf8_decode(s)) {
    switch (c) {
      case U'"':
        out += "\\\"";
        continue;
      case U'\\':
        out += "\\\\";
        continue;
      case U'\n':
        out += "\\n";
        continue;
      case U'\r':
        out += "\\r";
        continue;
      case U'\t':
        out += "\\t";
        continue;
      case U'\b':
        out += "\\b";
        continue;
      case U'\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    const auto code = static_cast<uint32_t>(c);
    if (c < 0x20 || (ensure_ascii && c >= 0x7f)) {
      if (code >= 0x10000) {
        const uint32_t v = code - 0x10000;
        out += fmt::format("\\u{:04x}\\u{:04x}", 0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
      } else {
        out += fmt::format("\\u{:04x}", code);
      }
    } else {
      utf8_append(out, c);
    }
  }
  out += '"';
}

std::string dump_float(double f) {
  if (std::isnan(f)) return "NaN";
  if (std::isinf(f)) return f < 0 ? "-Infinity" : "Infinity";
  return float_repr(f);
}

[[noreturn]] void not_serializable(const Value& v) {
  throw RuntimeError(fmt::format("Object of type {} is not JSON serializable", v.type_name()));
}

// json.dumps converts dict keys to strings; other key types are a TypeError.
std::string key_string(const Value& k) {
  switch (k.kind()) {
    case Value::Kind::kString:
      return k.as_string();
    case Value::Kind::kInt:
      return std::to_string(k.as_int());
    case Value::Kind::kFloat:
      return dump_float(k.as_number());
    case Value::Kind::kBool:
      return k.as_bool() ? "true" : "false";
    case Value::Kind::kNone:
      return "null";
    default:
      throw RuntimeError(
          fmt::format("keys must be str, int, float, bool or None, not {}", k.type_name()));
  }
}

class Dumper {
 public:
  explicit Dumper(const JsonOptions& o) : o_(o) {}

  void dump(const Value& v, int level, std::string& out) {
    switch (v.kind()) {
      case Value::Kind::kNone:
        out += "null";
        return;
      case Value::Kind::kBool:
        out += v.as_bool() ? "true" : "false";
        return;
      case Value::Kind::kInt:
        out += std::to_string(v.as_int());
        return;
      case Value::Kind::kFloat:
        out += dump_float(v.as_number());
        return;
      case Value::Kind::kString:
        dump_string(v.as_string(), o_.ensure_ascii, out);
        return;
      case Value::Kind::kList:
      case Value::Kind::kTuple:
        dump_list(v.as_list(), level, out);
        return;
      case Value::Kind::kDict:
        dump_dict(v.as_dict(), level, out);
        return;
      default:
        not_serializable(v);
    }
  }

 private:
  const JsonOptions& o_;

  // Writes the separator before item `index` (json.dumps' _iterencode_list/_dict layout).
  void separator(size_t index, int level, std::string& out) const {
    if (index > 0) out += o_.item_separator;
    if (o_.has_indent) newline(level, out);
  }
  void newline(int level, std::string& out) const {
    out += '\n';
    for (int i = 0; i < level; ++i) out += o_.indent;
  }

  void dump_list(const List& items, int level, std::string& out) {
    if (items.empty()) {
      out += "[]";
      return;
    }
    out += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      separator(i, level + 1, out);
      dump(items[i], level + 1, out);
    }
    if (o_.has_indent) newline(level, out);
    out += ']';
  }

  void dump_dict(const Dict& d, int level, std::string& out) {
    if (d.items.empty()) {
      out += "{}";
      return;
    }
    std::vector<std::pair<std::string, const Value*>> entries;
    for (const auto& [k, v] : d.items) entries.emplace_back(key_string(k), &v);
    if (o_.sort_keys) {
      std::stable_sort(entries.begin(), entries.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    out += '{';
    for (size_t i = 0; i < entries.size(); ++i) {
      separator(i, level + 1, out);
      dump_string(entries[i].first, o_.ensure_ascii, out);
      out += o_.key_separator;
      dump(*entries[i].second, level + 1, out);
    }
    if (o_.has_indent) newline(level, out);
    out += '}';
  }
};

}  // namespace

std::string to_json(const Value& v, const JsonOptions& options) {
  std::string out;
  Dumper(options).dump(v, 0, out);
  return out;
}

}  // namespace dpok::text::jinja
