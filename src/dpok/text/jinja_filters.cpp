// Jinja filters and tests with jinja2 3.1 semantics and transformers' tojson (see
// jinja_builtins.h).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "dpok/text/jinja_builtins.h"
#include "dpok/text/jinja_case.h"
#include "dpok/text/jinja_ops.h"

namespace dpok::text::jinja {
namespace {

constexpr std::string_view kFilters[] = {
    "abs",     "attr",    "capitalize", "count",  "d",      "default",    "dictsort", "e",
    "escape",  "first",   "float",      "indent", "int",    "items",      "join",     "last",
    "length",  "list",    "lower",      "map",    "max",    "min",        "reject",   "rejectattr",
    "replace", "reverse", "round",      "safe",   "select", "selectattr", "sort",     "string",
    "sum",     "title",   "tojson",     "trim",   "unique", "upper",      "wordcount"};
constexpr std::string_view kUnsupportedFilters[] = {
    "batch", "center",    "filesizeformat", "forceescape", "format", "groupby",  "pprint", "random",
    "slice", "striptags", "truncate",       "urlencode",   "urlize", "wordwrap", "xmlattr"};
constexpr std::string_view kTests[] = {
    "boolean", "callable", "defined",  "divisibleby", "eq",       "equalto", "escaped",
    "even",    "false",    "filter",   "float",       "ge",       "gt",      "greaterthan",
    "in",      "integer",  "iterable", "le",          "lessthan", "lower",   "lt",
    "mapping", "ne",       "none",     "number",      "odd",      "sameas",  "sequence",
    "string",  "test",     "true",     "undefined",   "upper",    "==",      "!=",
    "<",       "<=",       ">",        ">="};

template <size_t N>
bool listed(const std::string_view (&names)[N], std::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

bool integral(const Value& v) {
  return v.is_int() || v.is_bool();
}

int64_t length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return 0;
    case Value::Kind::kString:
      return static_cast<int64_t>(utf8_decode(v.as_string()).size());
    case Value::Kind::kList:
    case Value::Kind::kTuple:
      return static_cast<int64_t>(v.as_list().size());
    case Value::Kind::kDict:
      return static_cast<int64_t>(v.as_dict().items.size());
    default:
      throw RuntimeError(fmt::format("object of type '{}' has no len()", v.type_name()));
  }
}

// jinja2's make_attrgetter: "a.b.0" looks up each dotted part, digits as integer indexes.
Value attribute_of(const Value& item, const std::string& path) {
  Value v = item;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? dot : dot - start);
    const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    v = digits && part.size() < 18 ? get_item(v, Value(static_cast<int64_t>(std::stoll(part))))
                                   : get_item(v, Value(part));
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

// Sort/min/max key: lowercased strings unless case-sensitive (jinja2's ignore_case).
Value sort_key(const Value& v, bool case_sensitive, const std::optional<Value>& attribute) {
  Value key = (attribute && !attribute->is_none()) ? attribute_of(v, attribute->str()) : v;
  if (!case_sensitive && key.is_string()) return Value(py_lower(key.as_string()));
  return key;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Python float(str): surrounding whitespace allowed, decimal/exponent/inf/nan, '_' separators.
std::optional<double> parse_float(const std::string& text) {
  std::string s = python_strip(text, true, true);
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  const std::string lower = py_lower(s);
  if (lower.find("x") != std::string::npos) return std::nullopt;  // strtod accepts hex, Python not
  return d;
}

std::optional<int64_t> parse_int(const std::string& text, int base) {
  std::string s = python_strip(text, true, true);
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  if (s.empty() || base < 2 || base > 36) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, base);
  if (end != s.c_str() + s.size() || errno == ERANGE) return std::nullopt;
  return static_cast<int64_t>(v);
}

Value to_int(const Value& v, const Value& fallback, int base) {
  if (integral(v)) return Value(v.as_int());
  if (v.kind() == Value::Kind::kFloat && std::isfinite(v.as_number()) &&
      std::fabs(v.as_number()) < 9.2e18) {
    return Value(static_cast<int64_t>(v.as_number()));
  }
  if (v.is_string()) {
    if (auto i = parse_int(v.as_string(), base)) return Value(*i);
    if (auto f = parse_float(v.as_string()); f && std::isfinite(*f) && std::fabs(*f) < 9.2e18) {
      return Value(static_cast<int64_t>(*f));
    }
  }
  return fallback;
}

Value to_float(const Value& v, const Value& fallback) {
  if (v.is_number()) return Value(v.as_number());
  if (v.is_string()) {
    if (auto f = parse_float(v.as_string())) return Value(*f);
  }
  return fallback;
}

// Python round(x, n) for floats: correctly rounded decimal, ties to even on the exact value.
Value round_value(const Value& v, int64_t precision, const std::string& method) {
  if (!v.is_number()) {
    throw RuntimeError(fmt::format("type {} doesn't define __round__ method", v.type_name()));
  }
  if (method == "common") {
    if (integral(v) && precision >= 0) return Value(v.as_int());
    const double x = v.as_number();
    if (!std::isfinite(x) || precision > 300) return Value(x);
    if (precision < 0) {
      const double scale = std::pow(10.0, static_cast<double>(-precision));
      return Value(std::nearbyint(x / scale) * scale);
    }
    char buf[512];
    std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(precision), x);
    return Value(std::strtod(buf, nullptr));
  }
  if (method != "ceil" && method != "floor") {
    throw RuntimeError("method must be 'common', 'ceil' or 'floor'");
  }
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double x = v.as_number() * scale;
  return Value((method == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
}

std::string indent(const std::string& text, const Value& width, bool first, bool blank) {
  const std::string pad =
      width.is_string()
          ? width.as_string()
          : std::string(static_cast<size_t>(std::clamp<int64_t>(width.as_int(), 0, 1 << 20)), ' ');
  std::vector<std::string> lines;
  const std::string s = text + "\n";  // jinja2's quirk so splitlines keeps a trailing empty line
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\n' && s[i] != '\r') continue;
    lines.push_back(s.substr(start, i - start));
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
    start = i + 1;
  }
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i == 0) {
      out = lines[0];
      continue;
    }
    out += "\n";
    if (blank || !lines[i].empty()) out += pad;
    out += lines[i];
  }
  return first ? pad + out : out;
}

Value tojson(const Value& v, CallArgs& args) {
  auto a = bind_args("tojson", args, {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonOptions o;
  o.ensure_ascii = a[0] && a[0]->truthy();
  if (a[1] && !a[1]->is_none()) {
    o.has_indent = true;
    o.indent = a[1]->is_string()
                   ? a[1]->as_string()
                   : std::string(
                         static_cast<size_t>(std::clamp<int64_t>(a[1]->as_int(), 0, 1 << 16)), ' ');
    o.item_separator = ",";
  }
  if (a[2] && !a[2]->is_none()) {
    const List seps = iterate(*a[2]);
    if (seps.size() != 2 || !seps[0].is_string() || !seps[1].is_string()) {
      throw RuntimeError("tojson separators must be a pair of strings");
    }
    o.item_separator = seps[0].as_string();
    o.key_separator = seps[1].as_string();
  }
  o.sort_keys = a[3] && a[3]->truthy();
  return Value(to_json(v, o));
}

// select/reject (attr_mode false) and selectattr/rejectattr (attr_mode true).
Value select_items(const Value& seq, CallArgs& args, bool attr_mode, bool keep_when) {
  std::vector<Value> rest = args.positional;
  std::optional<std::string> attribute;
  if (attr_mode) {
    if (rest.empty()) throw RuntimeError("selectattr/rejectattr need an attribute name");
    attribute = rest.front().str();
    rest.erase(rest.begin());
  }
  std::optional<std::string> test;
  if (!rest.empty()) {
    test = rest.front().str();
    rest.erase(rest.begin());
    if (test_status(*test) != BuiltinStatus::kSupported) {
      throw RuntimeError(fmt::format("No test named '{}'.", *test));
    }
  }
  List out;
  for (const Value& item : iterate(seq)) {
    const Value probe = attribute ? attribute_of(item, *attribute) : item;
    CallArgs test_args{rest, {}};
    const bool ok = test ? apply_test(*test, probe, test_args) : probe.truthy();
    if (ok == keep_when) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value map_items(const Value& seq, CallArgs& args) {
  List out;
  if (args.positional.empty()) {
    auto a = bind_args("map", args, {"attribute", "default"});
    if (!a[0]) throw RuntimeError("map requires a filter name or attribute=");
    for (const Value& item : iterate(seq)) {
      Value v = attribute_of(item, a[0]->str());
      out.push_back(v.is_undefined() && a[1] ? *a[1] : v);
    }
    return Value::list(std::move(out));
  }
  const std::string name = args.positional.front().str();
  if (filter_status(name) != BuiltinStatus::kSupported) {
    throw RuntimeError(fmt::format("No filter named '{}'.", name));
  }
  CallArgs rest{std::vector<Value>(args.positional.begin() + 1, args.positional.end()),
                args.keyword};
  for (const Value& item : iterate(seq)) {
    CallArgs call = rest;
    out.push_back(apply_filter(name, item, call));
  }
  return Value::list(std::move(out));
}

Value sorted_items(const Value& seq, CallArgs& args) {
  auto a = bind_args("sort", args, {"reverse", "case_sensitive", "attribute"});
  const bool reverse = a[0] && a[0]->truthy();
  const bool cs = a[1] && a[1]->truthy();
  List items = iterate(seq);
  std::vector<std::pair<Value, Value>> keyed;
  for (Value& item : items) keyed.emplace_back(sort_key(item, cs, a[2]), std::move(item));
  std::stable_sort(keyed.begin(), keyed.end(), [reverse](const auto& x, const auto& y) {
    return reverse ? compare(y.first, x.first) < 0 : compare(x.first, y.first) < 0;
  });
  List out;
  for (auto& [k, v] : keyed) out.push_back(std::move(v));
  return Value::list(std::move(out));
}

Value min_max(const Value& seq, CallArgs& args, bool want_max) {
  auto a = bind_args(want_max ? "max" : "min", args, {"case_sensitive", "attribute"});
  const bool cs = a[0] && a[0]->truthy();
  const List items = iterate(seq);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  Value best_key = sort_key(items[0], cs, a[1]);
  for (size_t i = 1; i < items.size(); ++i) {
    Value key = sort_key(items[i], cs, a[1]);
    const int c = compare(key, best_key);
    if (want_max ? c > 0 : c < 0) {
      best = i;
      best_key = std::move(key);
    }
  }
  return items[best];
}

Value unique_items(const Value& seq, CallArgs& args) {
  auto a = bind_args("unique", args, {"case_sensitive", "attribute"});
  const bool cs = a[0] && a[0]->truthy();
  List seen;
  List out;
  for (const Value& item : iterate(seq)) {
    Value key = sort_key(item, cs, a[1]);
    if (contains(Value::list(seen), key)) continue;
    seen.push_back(std::move(key));
    out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value dictsort(const Value& v, CallArgs& args) {
  auto a = bind_args("dictsort", args, {"case_sensitive", "by", "reverse"});
  if (!v.is_dict()) throw RuntimeError("You can only sort by either \"key\" or \"value\"");
  const bool cs = a[0] && a[0]->truthy();
  const bool by_value = a[1] && a[1]->str() == "value";
  if (a[1] && !by_value && a[1]->str() != "key") {
    throw RuntimeError("You can only sort by either \"key\" or \"value\"");
  }
  auto pairs = v.as_dict().items;
  std::stable_sort(pairs.begin(), pairs.end(), [&](const auto& x, const auto& y) {
    const Value kx = sort_key(by_value ? x.second : x.first, cs, std::nullopt);
    const Value ky = sort_key(by_value ? y.second : y.first, cs, std::nullopt);
    return (a[2] && a[2]->truthy()) ? compare(ky, kx) < 0 : compare(kx, ky) < 0;
  });
  List out;
  for (auto& [k, value] : pairs) out.push_back(Value::list({k, value}, true));
  return Value::list(std::move(out));
}

std::string replace_all(const std::string& s, const std::string& old, const std::string& repl,
                        int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts `repl` before every character and at the end.
    const std::u32string cps = utf8_decode(s);
    int64_t done = 0;
    for (char32_t c : cps) {
      if (count < 0 || done++ < count) out += repl;
      utf8_append(out, c);
    }
    if (count < 0 || done < count) out += repl;
    return out;
  }
  size_t start = 0;
  for (int64_t n = 0; count < 0 || n < count; ++n) {
    const size_t at = s.find(old, start);
    if (at == std::string::npos) break;
    out.append(s, start, at - start);
    out += repl;
    start = at + old.size();
    if (out.size() > (size_t{256} << 20)) throw RuntimeError("replace result too large");
  }
  out.append(s, start, std::string::npos);
  return out;
}

}  // namespace

BuiltinStatus filter_status(std::string_view name) {
  if (listed(kFilters, name)) return BuiltinStatus::kSupported;
  return listed(kUnsupportedFilters, name) ? BuiltinStatus::kUnsupported : BuiltinStatus::kUnknown;
}

BuiltinStatus test_status(std::string_view name) {
  return listed(kTests, name) ? BuiltinStatus::kSupported : BuiltinStatus::kUnknown;
}

Value apply_filter(const std::string& name, const Value& v, CallArgs& args) {
  if (name == "tojson") return tojson(v, args);
  if (name == "default" || name == "d") {
    auto a = bind_args(name, args, {"default_value", "boolean"});
    const bool use_default = v.is_undefined() || (a[1] && a[1]->truthy() && !v.truthy());
    return use_default ? (a[0] ? *a[0] : Value("")) : v;
  }
  if (name == "length" || name == "count") return Value(length(v));
  if (name == "trim") {
    auto a = bind_args(name, args, {"chars"});
    const bool has_chars = a[0] && !a[0]->is_none();
    const std::string chars = has_chars ? a[0]->str() : std::string();
    return Value(python_strip(v.str(), true, true, has_chars ? &chars : nullptr));
  }
  if (name == "upper" || name == "lower" || name == "capitalize" || name == "string" ||
      name == "safe" || name == "e" || name == "escape" || name == "wordcount") {
    bind_args(name, args, {});
    const std::string s = v.str();
    if (name == "upper") return Value(py_upper(s));
    if (name == "lower") return Value(py_lower(s));
    if (name == "capitalize") return Value(py_capitalize(s));
    if (name == "e" || name == "escape") return Value(html_escape(s));
    if (name == "wordcount") {
      int64_t words = 0;
      bool in_word = false;
      for (char32_t c : utf8_decode(s)) {
        const bool w = c == U'_' || (c >= U'0' && c <= U'9') || (c >= U'a' && c <= U'z') ||
                       (c >= U'A' && c <= U'Z') || (c >= 0x80 && !is_python_space(c));
        words += (w && !in_word) ? 1 : 0;
        in_word = w;
      }
      return Value(words);
    }
    return Value(s);
  }
  if (name == "title") {
    // jinja2's do_title: capitalize each chunk after runs of -, whitespace, (, {, [ or <.
    bind_args(name, args, {});
    std::string out;
    std::u32string chunk;
    auto flush = [&]() {
      if (chunk.empty()) return;
      out += py_upper(utf8_encode(chunk.substr(0, 1))) + py_lower(utf8_encode(chunk.substr(1)));
      chunk.clear();
    };
    for (char32_t c : utf8_decode(v.str())) {
      if (c == U'-' || c == U'(' || c == U'{' || c == U'[' || c == U'<' || is_python_space(c)) {
        flush();
        utf8_append(out, c);
      } else {
        chunk.push_back(c);
      }
    }
    flush();
    return Value(out);
  }
  if (name == "replace") {
    auto a = bind_args(name, args, {"old", "new", "count"});
    if (!a[0] || !a[1]) throw RuntimeError("replace() missing required arguments 'old' and 'new'");
    return Value(replace_all(v.str(), a[0]->str(), a[1]->str(),
                             a[2] && !a[2]->is_none() ? a[2]->as_int() : -1));
  }
  if (name == "join") {
    auto a = bind_args(name, args, {"d", "attribute"});
    const std::string sep = a[0] ? a[0]->str() : std::string();
    std::string out;
    const List items = iterate(v);
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out += sep;
      out +=
          (a[1] && !a[1]->is_none()) ? attribute_of(items[i], a[1]->str()).str() : items[i].str();
    }
    return Value(std::move(out));
  }
  if (name == "items") {
    bind_args(name, args, {});
    if (v.is_undefined()) return Value::list({});
    if (!v.is_dict()) throw RuntimeError("Can only get item pairs from a mapping.");
    List out;
    for (const auto& [k, value] : v.as_dict().items) out.push_back(Value::list({k, value}, true));
    return Value::list(std::move(out));
  }
  if (name == "first" || name == "last") {
    bind_args(name, args, {});
    if (name == "last" && v.is_undefined())
      throw RuntimeError("'Undefined' object is not reversible");
    const List items = iterate(v);
    if (items.empty()) {
      return Value::undefined(fmt::format("No {} item, sequence was empty.", name));
    }
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") return Value::list(iterate(v));
  if (name == "reverse") {
    if (v.is_string()) return get_slice(v, Value::none(), Value::none(), Value(int64_t{-1}));
    List items = iterate(v);
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (name == "int") {
    auto a = bind_args(name, args, {"default", "base"});
    return to_int(v, a[0] ? *a[0] : Value(int64_t{0}),
                  a[1] ? static_cast<int>(a[1]->as_int()) : 10);
  }
  if (name == "float") {
    auto a = bind_args(name, args, {"default"});
    return to_float(v, a[0] ? *a[0] : Value(0.0));
  }
  if (name == "abs") {
    if (!v.is_number())
      throw RuntimeError(fmt::format("bad operand type for abs(): '{}'", v.type_name()));
    if (v.kind() == Value::Kind::kFloat) return Value(std::fabs(v.as_number()));
    return v.as_int() < 0 ? unary_op("-", v) : Value(v.as_int());
  }
  if (name == "round") {
    auto a = bind_args(name, args, {"precision", "method"});
    return round_value(v, a[0] ? a[0]->as_int() : 0, a[1] ? a[1]->str() : "common");
  }
  if (name == "indent") {
    auto a = bind_args(name, args, {"width", "first", "blank"});
    return Value(indent(v.str(), a[0] ? *a[0] : Value(int64_t{4}), a[1] && a[1]->truthy(),
                        a[2] && a[2]->truthy()));
  }
  if (name == "attr") {
    // Python getattr only: dict items are not attributes (unlike `x.name` in a template).
    auto a = bind_args(name, args, {"name"});
    const std::string attr = a[0] ? a[0]->str() : std::string();
    const bool dict_method = attr == "items" || attr == "keys" || attr == "values" || attr == "get";
    if (v.is_dict() && !dict_method) {
      return Value::undefined(fmt::format("'dict object' has no attribute '{}'", attr));
    }
    return get_attribute(v, attr);
  }
  if (name == "sum") {
    auto a = bind_args(name, args, {"attribute", "start"});
    Value total = a[1] ? *a[1] : Value(int64_t{0});
    for (const Value& item : iterate(v)) {
      total =
          binary_op("+", total, a[0] ? attribute_of(item, a[0]->str()) : item, size_t{64} << 20);
    }
    return total;
  }
  if (name == "map") return map_items(v, args);
  if (name == "select" || name == "reject") return select_items(v, args, false, name == "select");
  if (name == "selectattr" || name == "rejectattr") {
    return select_items(v, args, true, name == "selectattr");
  }
  if (name == "sort") return sorted_items(v, args);
  if (name == "max" || name == "min") return min_max(v, args, name == "max");
  if (name == "unique") return unique_items(v, args);
  if (name == "dictsort") return dictsort(v, args);
  throw UnsupportedFeature("the filter '" + name + "'");
}

bool apply_test(const std::string& name, const Value& v, CallArgs& args) {
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.kind() == Value::Kind::kFloat;
  if (name == "number") return v.is_number();
  if (name == "callable") return v.is_callable() || v.is_undefined();
  if (name == "escaped") return false;
  if (name == "iterable")
    return v.is_undefined() || v.is_string() || v.is_sequence() || v.is_dict();
  // jinja2's Undefined defines __len__ and __getitem__, so it passes `sequence`.
  if (name == "sequence")
    return v.is_undefined() || v.is_string() || v.is_sequence() || v.is_dict();
  if (name == "lower" || name == "upper") {
    return name == "lower" ? py_islower(v.str()) : py_isupper(v.str());
  }
  if (name == "filter")
    return v.is_string() && filter_status(v.as_string()) == BuiltinStatus::kSupported;
  if (name == "test")
    return v.is_string() && test_status(v.as_string()) == BuiltinStatus::kSupported;
  if (name == "odd" || name == "even") {
    const Value r = binary_op("%", v, Value(int64_t{2}), 0);
    return name == "odd" ? equal(r, Value(int64_t{1})) : equal(r, Value(int64_t{0}));
  }
  auto a = bind_args(name, args, {"other"});
  if (!a[0]) throw RuntimeError(fmt::format("test '{}' takes exactly one argument", name));
  const Value& other = *a[0];
  if (name == "divisibleby") return equal(binary_op("%", v, other, 0), Value(int64_t{0}));
  if (name == "sameas") {
    // Python identity: singletons and equal small ints/strings are the same object.
    return v.kind() == other.kind() && !v.is_sequence() && !v.is_dict() && equal(v, other);
  }
  if (name == "in") return contains(other, v);
  if (name == "==" || name == "eq" || name == "equalto") return equal(v, other);
  if (name == "!=" || name == "ne") return !equal(v, other);
  if (name == "<" || name == "lt" || name == "lessthan") return compare(v, other) < 0;
  if (name == "<=" || name == "le") return compare(v, other) <= 0;
  if (name == ">" || name == "gt" || name == "greaterthan") return compare(v, other) > 0;
  if (name == ">=" || name == "ge") return compare(v, other) >= 0;
  throw UnsupportedFeature("the test '" + name + "'");
}

}  // namespace dpok::text::jinja
